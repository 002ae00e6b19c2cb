//! The plain-text part Herald derives from an email's html when only `html` is given (Resend
//! does the same).
//!
//! One pass over html5ever's tokenizer, without a document tree: text with its whitespace
//! collapsed, a line break after block elements (a blank line after paragraphs, headings,
//! lists, tables, quotes), `* ` and `1. ` before list items, `# ` before headings, `**` around
//! bold and `*` around italic text, a link's target in brackets after its text (unless the
//! text already says it), an image's `alt`. What a reader does not see is left out: `<head>`,
//! `<style>`, `<script>`, comments (Outlook's conditional ones too), elements marked
//! `hidden` or `display:none` (a preheader), zero-width padding characters. Lines are not
//! wrapped: mail clients wrap plain text themselves, and the MIME encoding keeps the lines
//! short on the wire.
//!
//! It replaced html2text, whose document tree, CSS pass and column layout took a quarter of
//! the CPU of delivering a 50 KB email (docs/performance.md); this costs one tokenizer pass.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// The text of `html` as a reader sees it.
pub fn from_html(html: &str) -> String {
    let tokenizer = Tokenizer::new(
        Sink(RefCell::new(Writer::new(html.len()))),
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.into_inner().finish()
}

struct Sink(RefCell<Writer>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut w = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => return w.tag(&tag),
            Token::CharacterTokens(text) => w.text(&text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Elements whose content is not text for the reader.
const SKIPPED: &[&str] = &[
    "head", "style", "script", "title", "template", "noscript", "object", "iframe", "svg", "math",
    "select", "textarea", "button",
];

/// Elements followed (and preceded) by a blank line.
const PARAGRAPHS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "blockquote",
    "pre",
    "figure",
    "hr",
];

/// Elements on lines of their own.
const LINES: &[&str] = &[
    "div",
    "li",
    "tr",
    "table",
    "dt",
    "dd",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "center",
    "address",
    "form",
    "fieldset",
    "caption",
    "details",
    "summary",
    "figcaption",
    "body",
];

/// Void elements: they have no end tag, so they never open a skipped or hidden region.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

#[derive(Default)]
struct Writer {
    out: String,
    /// Line breaks owed before the next text (1: a new line, 2: a blank line).
    breaks: usize,
    /// Whitespace was seen since the last text on this line.
    space: bool,
    /// Emphasis markers owed before the next text (`**` of an opened `<b>`).
    marks: String,
    /// The element whose content is being left out, and how deeply it nests in itself.
    skipping: Option<(String, usize)>,
    /// Inside `<pre>`: whitespace is kept.
    pre: usize,
    /// Open lists: `None` for `<ul>`, the next number for `<ol>`.
    lists: Vec<Option<u64>>,
    /// Open links: the target to show, and where the link's text starts in `out`.
    links: Vec<(Option<String>, usize)>,
}

impl Writer {
    fn new(html_len: usize) -> Self {
        Writer {
            out: String::with_capacity(html_len / 2),
            ..Writer::default()
        }
    }

    fn tag(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        let start = tag.kind == TagKind::StartTag;
        if let Some((skipped, depth)) = &mut self.skipping {
            if skipped == name {
                if start {
                    *depth += 1;
                } else {
                    *depth -= 1;
                }
            }
            if *depth == 0 || (start && name == "body" && skipped == "head") {
                self.skipping = None;
            } else {
                return raw_kind(name, start);
            }
            if start {
                // `<body>` after an unclosed `<head>`.
                self.block(1);
            }
            return TokenSinkResult::Continue;
        }
        if start && !tag.self_closing && !VOID.contains(&name) && hidden(tag) {
            self.skipping = Some((name.to_string(), 1));
            return raw_kind(name, start);
        }
        if start && SKIPPED.contains(&name) {
            if !tag.self_closing {
                self.skipping = Some((name.to_string(), 1));
            }
            return raw_kind(name, start);
        }
        if PARAGRAPHS.contains(&name) {
            self.block(2);
        } else if LINES.contains(&name) {
            self.block(1);
        }
        match (name, start) {
            ("br", _) => self.breaks = (self.breaks + 1).min(2),
            ("hr", true) => {
                self.write("---");
                self.block(2);
            }
            ("pre", true) => self.pre += 1,
            ("pre", false) => self.pre = self.pre.saturating_sub(1),
            ("ul", true) => self.lists.push(None),
            ("ol", true) => {
                let first = attr(tag, "start")
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(1);
                self.lists.push(Some(first));
            }
            ("ul" | "ol", false) => {
                self.lists.pop();
            }
            ("li", true) => {
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "* ".to_string(),
                };
                self.write(&marker);
                self.space = false;
            }
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", true) => {
                let level = usize::from(name.as_bytes()[1] - b'0');
                self.write(&format!("{} ", "#".repeat(level)));
                self.space = false;
            }
            ("td" | "th", true) => self.space = true,
            ("b" | "strong", _) => self.mark("**", start),
            ("i" | "em", _) => self.mark("*", start),
            ("a", true) => {
                let shown = attr(tag, "href").and_then(shown_target);
                self.links.push((shown, self.out.len()));
            }
            ("a", false) => self.close_link(),
            ("img", true) => {
                if let Some(alt) = attr(tag, "alt").filter(|a| !a.trim().is_empty()) {
                    self.text(alt);
                }
            }
            _ => {}
        }
        raw_kind(name, start)
    }

    /// Owes `n` line breaks before the next text (none at the very start).
    fn block(&mut self, n: usize) {
        self.breaks = self.breaks.max(n);
        self.space = false;
    }

    fn mark(&mut self, marker: &str, open: bool) {
        if self.pre > 0 {
            return;
        }
        if open {
            self.marks.push_str(marker);
        } else if self.marks.ends_with(marker) {
            // Nothing was written inside: no empty `****`.
            self.marks.truncate(self.marks.len() - marker.len());
        } else {
            self.out.push_str(marker);
        }
    }

    fn close_link(&mut self) {
        let Some((shown, start)) = self.links.pop() else {
            return;
        };
        let Some(shown) = shown else { return };
        let start = start.min(self.out.len());
        let said = self.out[start..].trim();
        if said.is_empty() {
            self.write(&shown);
        } else if said != shown && !said.contains(shown.as_str()) {
            self.out.push_str(" (");
            self.out.push_str(&shown);
            self.out.push(')');
        }
    }

    /// Writes text as it reads: whitespace collapsed outside `<pre>`.
    fn text(&mut self, text: &str) {
        if self.skipping.is_some() {
            return;
        }
        if self.pre > 0 {
            for c in text.chars().filter(|c| !invisible(*c) && *c != '\r') {
                if c == '\n' && self.out.is_empty() {
                    continue;
                }
                self.put(c);
            }
            return;
        }
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if c.is_ascii_graphic() {
                // A run of visible ASCII words with single spaces between them (most of an
                // email's text): the first character settles what is owed before it (breaks,
                // a space, emphasis marks); then each word and the one space before it are
                // written as they are, which is what `put` does with them one by one. One
                // copy of the run instead of a `put` per character.
                let run = ascii_run(rest.as_bytes());
                self.put(c);
                self.out.push_str(&rest[1..run]);
                rest = &rest[run..];
                continue;
            }
            // (No invisible character is whitespace.)
            if c.is_whitespace() {
                self.space = true;
            } else if !invisible(c) {
                self.put(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }

    /// Writes `s` as text that is not collapsed (markers, link targets).
    fn write(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn put(&mut self, c: char) {
        if !self.out.is_empty() {
            if self.breaks > 0 {
                while self.out.ends_with(' ') {
                    self.out.pop();
                }
                // Only spaces so far (a `<pre> `): still the very start, no breaks.
                if !self.out.is_empty() {
                    for _ in 0..self.breaks {
                        self.out.push('\n');
                    }
                }
            } else if self.space && !self.out.ends_with(['\n', ' ']) {
                self.out.push(' ');
            }
        }
        self.breaks = 0;
        self.space = false;
        if !self.marks.is_empty() {
            self.out.push_str(&self.marks);
            self.marks.clear();
        }
        self.out.push(c);
    }

    fn finish(mut self) -> String {
        let end = self.out.trim_end().len();
        self.out.truncate(end);
        self.out
    }
}

/// The length of the run of visible ASCII at the start of `text` (which starts with a visible
/// character), single spaces between its words included: a space ends it when it is the last
/// byte or followed by anything else (those collapse, or end a line).
fn ascii_run(text: &[u8]) -> usize {
    let mut end = 1;
    while end < text.len() {
        if text[end].is_ascii_graphic() {
            end += 1;
        } else if text[end] == b' ' && text.get(end + 1).is_some_and(u8::is_ascii_graphic) {
            end += 2;
        } else {
            break;
        }
    }
    end
}

/// The tokenizer reads the content of `<style>`, `<script>`, `<title>` and `<textarea>` as
/// raw text (an `<a>` inside a style sheet is not a tag); it is told so by the sink.
fn raw_kind(name: &str, start: bool) -> TokenSinkResult<()> {
    if !start {
        return TokenSinkResult::Continue;
    }
    match name {
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
            TokenSinkResult::RawData(RawKind::Rawtext)
        }
        "script" => TokenSinkResult::RawData(RawKind::ScriptData),
        "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
        "plaintext" => TokenSinkResult::Plaintext,
        _ => TokenSinkResult::Continue,
    }
}

fn attr<'t>(tag: &'t Tag, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

/// `hidden`, or an inline style with `display: none`.
fn hidden(tag: &Tag) -> bool {
    tag.attrs.iter().any(|a| match &*a.name.local {
        "hidden" => true,
        "style" => {
            let style: String = a
                .value
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            style
                .split(';')
                .any(|decl| decl.trim_end_matches("!important") == "display:none")
        }
        _ => false,
    })
}

/// What a link's target looks like in text: the address of a `mailto:`, the URL of others;
/// nothing for anchors and scripts.
fn shown_target(href: &str) -> Option<String> {
    let href = href.trim();
    let lower = href.to_ascii_lowercase();
    if href.is_empty() || href.starts_with('#') || lower.starts_with("javascript:") {
        return None;
    }
    if lower.starts_with("mailto:") {
        let address = href[7..].split('?').next().unwrap_or_default();
        return (!address.is_empty()).then(|| address.to_string());
    }
    Some(href.to_string())
}

/// Characters that take no room: zero-width spaces and joiners, the byte-order mark, soft
/// hyphens, the combining grapheme joiner (preheader padding is made of these).
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{feff}' | '\u{00ad}' | '\u{034f}' | '\u{2060}'
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Writer, from_html, invisible};
    use crate::proptest_util::{cases, soup};

    const HTML_PIECES: &[&str] = &[
        "<p>",
        "</p>",
        "<div hidden>",
        "<div style='display:none'>",
        "</div>",
        "<br>",
        "<b>",
        "</b>",
        "<a href=\"https://x.test\">",
        "<a href='mailto:a@b.test'>",
        "</a>",
        "<ul>",
        "<ol start=x>",
        "<li>",
        "</ol>",
        "<pre>",
        "</pre>",
        "<head>",
        "<body>",
        "<style>",
        "</style>",
        "<script>",
        "<!--",
        "-->",
        "<img alt='a'>",
        "&amp;",
        "&#0;",
        "&zwnj;",
        "\u{e9}",
        "\r\n",
        " ",
        "text",
        "<",
        ">",
        "\"",
        "<h3>",
        "<hr>",
        "<td>",
        "<tr>",
    ];

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        fn any_html_gives_text_without_panicking(html in soup(HTML_PIECES, 60)) {
            let text = from_html(&html);
            prop_assert_eq!(text.trim_end(), text.as_str());
            prop_assert!(!text.starts_with('\n'));
        }

        #[test]
        fn arbitrary_strings_never_panic(html in ".{0,200}") {
            let _ = from_html(&html);
        }

        /// Writing text a run of visible ASCII at a time gives what writing it a character
        /// at a time did, whatever is owed before it (breaks, a space, emphasis marks).
        #[test]
        fn text_written_by_runs_is_text_written_by_characters(
            steps in prop::collection::vec((0usize..4, soup(HTML_PIECES, 6)), 0..12),
        ) {
            let (mut runs, mut chars) = (Writer::new(0), Writer::new(0));
            for (op, text) in &steps {
                for w in [&mut runs, &mut chars] {
                    match op {
                        0 => w.block(2),
                        1 => w.mark("**", true),
                        2 => w.space = true,
                        _ => {}
                    }
                }
                runs.text(text);
                per_character(&mut chars, text);
            }
            prop_assert_eq!(runs.finish(), chars.finish());
        }

        #[test]
        fn text_without_markup_keeps_its_words(words in prop::collection::vec("[a-z]{1,8}", 0..20)) {
            prop_assert_eq!(from_html(&words.join("  \n ")), words.join(" "));
        }
    }

    /// How text was written before runs: one `put` per character.
    fn per_character(w: &mut Writer, text: &str) {
        for c in text.chars() {
            if invisible(c) {
                continue;
            }
            if c.is_whitespace() {
                w.space = true;
            } else {
                w.put(c);
            }
        }
    }

    #[test]
    fn paragraphs_emphasis_and_breaks() {
        assert_eq!(
            from_html("<p>Hello <strong>there</strong></p>"),
            "Hello **there**"
        );
        assert_eq!(
            from_html("<p>One\n   two</p><p>Three<br>four<br><br>five</p>"),
            "One two\n\nThree\nfour\n\nfive"
        );
        assert_eq!(from_html("<div>a</div><div>b</div>"), "a\nb");
        assert_eq!(from_html("<em> x </em>y"), "*x* y");
        assert_eq!(from_html("<b></b>z"), "z");
        // Only a space before the first block (found by the property test above).
        assert_eq!(from_html("<pre> </div><li>"), "*");
    }

    #[test]
    fn entities_and_invisible_characters() {
        assert_eq!(from_html("Fish &amp; chips&nbsp;&lt;3"), "Fish & chips <3");
        assert_eq!(from_html("a&zwnj;&#8203;b\u{feff}"), "ab");
    }

    #[test]
    fn what_a_reader_does_not_see_is_left_out() {
        let html = "<html><head><title>T</title><style>a { color: red } <b>x</b></style>\
                    </head><body><!--[if mso]><p>outlook</p><![endif]-->\
                    <div style=\"display: none; max-height:0\">preheader <b>text</b></div>\
                    <script>alert('<p>')</script><p hidden>secret</p><p>Shown</p></body></html>";
        assert_eq!(from_html(html), "Shown");
        // A `<head>` that is never closed ends at `<body>`.
        assert_eq!(from_html("<head><meta charset=utf-8><body>Hi"), "Hi");
        // Nested elements of the hidden one's kind end where it ends.
        assert_eq!(
            from_html("<div hidden><div>a</div>b</div><div>c</div>"),
            "c"
        );
    }

    #[test]
    fn links_show_their_target_once() {
        assert_eq!(
            from_html(r#"<a href="https://x.dev/a">Read it</a>"#),
            "Read it (https://x.dev/a)"
        );
        assert_eq!(
            from_html(r#"<a href="https://x.dev/a">https://x.dev/a</a>"#),
            "https://x.dev/a"
        );
        assert_eq!(
            from_html(r#"Mail <a href="mailto:hi@x.dev?subject=a">us</a>."#),
            "Mail us (hi@x.dev)."
        );
        assert_eq!(from_html(r##"<a href="#top">Top</a>"##), "Top");
        assert_eq!(
            from_html(r#"<a href="https://x.dev/u"><img src="b.png" alt=""></a>"#),
            "https://x.dev/u"
        );
        assert_eq!(
            from_html(r#"<a href="{{{RESEND_UNSUBSCRIBE_URL}}}">Unsubscribe</a>"#),
            "Unsubscribe ({{{RESEND_UNSUBSCRIBE_URL}}})"
        );
    }

    #[test]
    fn lists_headings_tables_and_pre() {
        assert_eq!(
            from_html(
                "<h2>News</h2><ul><li>one</li><li>two</li></ul><ol start=3><li>c</li><li>d</li></ol>"
            ),
            "## News\n\n* one\n* two\n\n3. c\n4. d"
        );
        assert_eq!(
            from_html(
                "<table><tr><td>Total</td><td>9 €</td></tr><tr><td>Tax</td><td>1 €</td></tr></table>"
            ),
            "Total 9 €\nTax 1 €"
        );
        assert_eq!(from_html("<pre>a  b\n  c</pre>after"), "a  b\n  c\n\nafter");
        assert_eq!(from_html("<img src=x alt=\"Logo\"> Acme"), "Logo Acme");
        assert_eq!(from_html("a<hr>b"), "a\n\n---\n\nb");
    }

    #[test]
    fn broken_html_still_gives_its_text() {
        assert_eq!(from_html("<p>unclosed <b>bold"), "unclosed **bold");
        assert_eq!(from_html("</div></p>stray ends<"), "stray ends<");
        assert_eq!(from_html(""), "");
        assert_eq!(from_html("plain text"), "plain text");
    }
}
