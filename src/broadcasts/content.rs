//! A broadcast's content: the placeholders it may use, and the message each contact gets.
