//! The dashboard editor's Markdown mode: Markdown (CommonMark with tables and strikethrough,
//! read by pulldown-cmark) into an email-safe HTML document. Everything is styled inline (mail
//! clients drop `<style>` blocks and ignore classes), the layout is a centred table of the
//! chosen width, and the result is plain enough for spam filters (no scripts, no forms, no
//! remote CSS, text on a contrasting background).
//!
//! Styles come in two kinds: global ones ([`Styles`]: page background, link colour, container
//! width, font, text colour) and per-block ones (font size, weight and alignment) with a
//! default per kind of block (headings, paragraphs, quotes, lists) that a single block can
//! override by a line of its own just before it: `{align=center size=20 weight=700}`.
//!
//! Raw HTML in the Markdown is shown as text: writing HTML is the editor's HTML mode. Link
//! and image addresses must be http(s), `mailto:`, `tel:`, `#…` or a `{{{placeholder}}}`
//! (the unsubscribe link is `[Unsubscribe]({{{RESEND_UNSUBSCRIBE_URL}}})`); others are
//! dropped. Placeholders pass through unchanged for the send to fill.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::error::BroadcastResult;
use crate::handle::App;
use crate::on_db;

use crate::branding::is_colour;
use crate::templates::substitute::escape_html_into as escape_into;

/// Font families offered, each a stack of fonts mail clients have.
pub const FONTS: &[(&str, &str, &str)] = &[
    (
        "sans",
        "Sans-serif",
        "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif",
    ),
    ("serif", "Serif", "Georgia,'Times New Roman',Times,serif"),
    (
        "mono",
        "Monospace",
        "Menlo,Consolas,'Liberation Mono','Courier New',monospace",
    ),
];

pub const WEIGHTS: &[u32] = &[400, 500, 600, 700];
pub const ALIGNS: &[&str] = &["left", "center", "right"];
/// The kinds of block that have their own style, with their labels.
pub const BLOCKS: &[(&str, &str)] = &[
    ("h1", "Heading 1"),
    ("h2", "Heading 2"),
    ("h3", "Heading 3+"),
    ("p", "Paragraph"),
    ("quote", "Quote"),
    ("list", "List"),
];

const MIN_WIDTH: u32 = 320;
const MAX_WIDTH: u32 = 900;
const MIN_SIZE: u32 = 10;
const MAX_SIZE: u32 = 64;
const MONO: &str = "Menlo,Consolas,'Liberation Mono','Courier New',monospace";

/// Font size, weight and alignment of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStyle {
    pub size: u32,
    pub weight: u32,
    pub align: Align,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    Center,
    Right,
}

impl Align {
    pub fn as_str(self) -> &'static str {
        match self {
            Align::Left => "left",
            Align::Center => "center",
            Align::Right => "right",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "left" => Some(Align::Left),
            "center" | "centre" => Some(Align::Center),
            "right" => Some(Align::Right),
            _ => None,
        }
    }
}

/// The styles of a Markdown broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Styles {
    /// The page around the container.
    pub background: String,
    /// The container.
    pub container: String,
    pub text: String,
    pub link: String,
    /// Container width in pixels (it shrinks on narrow screens).
    pub width: u32,
    /// A key of [`FONTS`].
    pub font: String,
    pub h1: BlockStyle,
    pub h2: BlockStyle,
    pub h3: BlockStyle,
    pub p: BlockStyle,
    pub quote: BlockStyle,
    pub list: BlockStyle,
}

const fn block(size: u32, weight: u32) -> BlockStyle {
    BlockStyle {
        size,
        weight,
        align: Align::Left,
    }
}

impl Default for Styles {
    fn default() -> Self {
        Self {
            background: "#f4f4f5".into(),
            container: "#ffffff".into(),
            text: "#27272a".into(),
            link: "#2563eb".into(),
            width: 600,
            font: "sans".into(),
            h1: block(28, 700),
            h2: block(22, 700),
            h3: block(18, 600),
            p: block(16, 400),
            quote: block(16, 400),
            list: block(16, 400),
        }
    }
}

impl Styles {
    /// The style of a kind of block (a key of [`BLOCKS`]).
    pub fn block(&self, kind: &str) -> BlockStyle {
        match kind {
            "h1" => self.h1,
            "h2" => self.h2,
            "h3" => self.h3,
            "quote" => self.quote,
            "list" => self.list,
            _ => self.p,
        }
    }

    pub fn block_mut(&mut self, kind: &str) -> &mut BlockStyle {
        match kind {
            "h1" => &mut self.h1,
            "h2" => &mut self.h2,
            "h3" => &mut self.h3,
            "quote" => &mut self.quote,
            "list" => &mut self.list,
            _ => &mut self.p,
        }
    }

    /// The first problem, as a sentence for the form.
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("Background", &self.background),
            ("Container", &self.container),
            ("Text colour", &self.text),
            ("Link colour", &self.link),
        ] {
            if !is_colour(value) {
                return Err(format!(
                    "{name} must be a colour like #1a2b3c, not \"{value}\"."
                ));
            }
        }
        if !(MIN_WIDTH..=MAX_WIDTH).contains(&self.width) {
            return Err(format!(
                "Container width must be between {MIN_WIDTH} and {MAX_WIDTH} pixels."
            ));
        }
        if !FONTS.iter().any(|(key, _, _)| *key == self.font) {
            return Err("Choose one of the fonts offered.".into());
        }
        for (kind, label) in BLOCKS {
            let style = self.block(kind);
            if !(MIN_SIZE..=MAX_SIZE).contains(&style.size) {
                return Err(format!(
                    "{label}: font size must be between {MIN_SIZE} and {MAX_SIZE} pixels."
                ));
            }
            if !WEIGHTS.contains(&style.weight) {
                return Err(format!("{label}: choose a font weight offered."));
            }
        }
        Ok(())
    }

    fn font_stack(&self) -> &'static str {
        FONTS
            .iter()
            .find(|(key, _, _)| *key == self.font)
            .map_or(FONTS[0].2, |(_, _, stack)| stack)
    }
}

/// A whole email: `markdown` rendered with `styles`, inside the layout, titled `subject`.
pub fn render(markdown: &str, styles: &Styles, subject: &str) -> String {
    document(&body_html(markdown, styles), styles, subject)
}

/// The email-safe HTML document around some content.
pub fn document(content: &str, styles: &Styles, subject: &str) -> String {
    let mut title = String::new();
    escape_into(&mut title, subject);
    let width = styles.width;
    let font = styles.font_stack();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"x-apple-disable-message-reformatting\">\n<title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background-color:{bg};\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
         style=\"background-color:{bg};\">\n<tr>\n<td align=\"center\" style=\"padding:24px 12px;\">\n\
         <table role=\"presentation\" width=\"{width}\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
         style=\"width:100%;max-width:{width}px;background-color:{container};border-radius:8px;\">\n\
         <tr>\n<td style=\"padding:32px 28px;font-family:{font};font-size:16px;line-height:1.6;\
         color:{text};text-align:left;\">\n{content}</td>\n</tr>\n</table>\n</td>\n</tr>\n</table>\n\
         </body>\n</html>\n",
        bg = styles.background,
        container = styles.container,
        text = styles.text,
    )
}

/// A block-style line: `{align=center size=20 weight=700}` (any of the three, in any order).
fn directive(text: &str) -> Option<Directive> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut found = Directive::default();
    let mut any = false;
    for part in inner.split_whitespace() {
        let (key, value) = part.split_once('=')?;
        match key {
            "align" => found.align = Some(Align::parse(value)?),
            "size" => {
                let size: u32 = value.trim_end_matches("px").parse().ok()?;
                found.size = Some(size.clamp(MIN_SIZE, MAX_SIZE));
            }
            "weight" => {
                let weight = match value {
                    "normal" => 400,
                    "bold" => 700,
                    other => other.parse().ok()?,
                };
                found.weight = Some(nearest_weight(weight));
            }
            _ => return None,
        }
        any = true;
    }
    any.then_some(found)
}

fn nearest_weight(weight: u32) -> u32 {
    *WEIGHTS
        .iter()
        .min_by_key(|w| w.abs_diff(weight))
        .expect("weights")
}

#[derive(Debug, Default, Clone, Copy)]
struct Directive {
    size: Option<u32>,
    weight: Option<u32>,
    align: Option<Align>,
}

impl Directive {
    fn apply(self, mut style: BlockStyle) -> BlockStyle {
        style.size = self.size.unwrap_or(style.size);
        style.weight = self.weight.unwrap_or(style.weight);
        style.align = self.align.unwrap_or(style.align);
        style
    }
}

/// A link or image address that may go into an email.
fn safe_url(url: &str) -> bool {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "mailto:", "tel:", "#", "{{{"]
        .iter()
        .any(|p| lower.starts_with(p))
}

fn style_attr(style: BlockStyle, margin: &str, line_height: &str) -> String {
    format!(
        " style=\"margin:{margin};font-size:{}px;line-height:{line_height};font-weight:{};\
         text-align:{};\"",
        style.size,
        style.weight,
        style.align.as_str()
    )
}

/// What encloses the current event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    Quote(BlockStyle),
    List(BlockStyle),
    Item(BlockStyle),
}

struct Writer<'s> {
    styles: &'s Styles,
    out: String,
    stack: Vec<Container>,
    /// The style line waiting for the next top-level block.
    pending: Option<Directive>,
    /// Inside an image: its alt text is collected instead of written.
    image: Option<(String, String)>,
    table_aligns: Vec<Alignment>,
    cell: usize,
    in_head: bool,
    /// Skipping a consumed style line until its paragraph ends.
    skipping: bool,
}

impl Writer<'_> {
    fn top_level(&self) -> bool {
        self.stack.is_empty()
    }

    /// The style of a block starting now: its kind's default, or its container's, with a
    /// waiting style line applied at the top level.
    fn block_style(&mut self, kind: &str) -> BlockStyle {
        let inherited = self.stack.last().map(|c| match c {
            Container::Quote(s) | Container::List(s) | Container::Item(s) => *s,
        });
        let base = match (kind, inherited) {
            ("h1" | "h2" | "h3", _) | (_, None) => self.styles.block(kind),
            (_, Some(s)) => s,
        };
        if self.top_level() {
            self.pending.take().map_or(base, |d| d.apply(base))
        } else {
            base
        }
    }

    fn push(&mut self, text: &str) {
        match &mut self.image {
            Some((_, alt)) => alt.push_str(text),
            None => self.out.push_str(text),
        }
    }

    fn text(&mut self, text: &str) {
        let mut escaped = String::new();
        escape_into(&mut escaped, text);
        self.push(&escaped);
    }

    fn start(&mut self, tag: Tag<'_>, source: &str) {
        match tag {
            Tag::Paragraph => {
                if self.top_level()
                    && let Some(d) = directive(source)
                {
                    self.pending = Some(d);
                    self.skipping = true;
                    return;
                }
                let in_item = matches!(self.stack.last(), Some(Container::Item(_)));
                let style = self.block_style("p");
                let margin = if in_item { "0 0 8px" } else { "0 0 16px" };
                let open = format!("<p{}>", style_attr(style, margin, "1.6"));
                self.push(&open);
            }
            Tag::Heading { level, .. } => {
                let (tag, kind) = heading(level);
                let style = self.block_style(kind);
                let open = format!("<{tag}{}>", style_attr(style, "0 0 16px", "1.3"));
                self.push(&open);
            }
            Tag::BlockQuote(_) => {
                let style = self.block_style("quote");
                let open = format!(
                    "<blockquote style=\"margin:0 0 16px;padding:4px 0 4px 16px;\
                     border-left:4px solid #d4d4d8;color:{};\">",
                    self.styles.text
                );
                self.push(&open);
                self.stack.push(Container::Quote(style));
            }
            Tag::CodeBlock(_) => {
                let open = format!(
                    "<pre style=\"margin:0 0 16px;padding:12px;background-color:#f4f4f5;\
                     border-radius:6px;font-family:{MONO};font-size:14px;line-height:1.5;\
                     white-space:pre-wrap;word-break:break-word;color:#27272a;\"><code>"
                );
                self.push(&open);
            }
            Tag::List(start) => {
                let style = self.block_style("list");
                let open = match start {
                    Some(n) if n != 1 => format!("<ol start=\"{n}\""),
                    Some(_) => "<ol".to_string(),
                    None => "<ul".to_string(),
                };
                let open = format!(
                    "{open} style=\"margin:0 0 16px;padding:0 0 0 24px;text-align:{};\">",
                    style.align.as_str()
                );
                self.push(&open);
                self.stack.push(Container::List(style));
            }
            Tag::Item => {
                let style = self.block_style("list");
                let open = format!("<li{}>", style_attr(style, "0 0 8px", "1.6"));
                self.push(&open);
                self.stack.push(Container::Item(style));
            }
            Tag::Table(aligns) => {
                self.table_aligns = aligns;
                self.push(
                    "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" \
                     border=\"0\" style=\"width:100%;border-collapse:collapse;margin:0 0 16px;\">",
                );
            }
            Tag::TableHead => {
                self.in_head = true;
                self.cell = 0;
                self.push("<tr>");
            }
            Tag::TableRow => {
                self.cell = 0;
                self.push("<tr>");
            }
            Tag::TableCell => {
                let align = match self.table_aligns.get(self.cell) {
                    Some(Alignment::Center) => "center",
                    Some(Alignment::Right) => "right",
                    _ => "left",
                };
                let (tag, weight) = if self.in_head {
                    ("th", 600)
                } else {
                    ("td", 400)
                };
                let open = format!(
                    "<{tag} style=\"border:1px solid #e4e4e7;padding:6px 8px;font-size:15px;\
                     font-weight:{weight};text-align:{align};\">"
                );
                self.push(&open);
            }
            Tag::Emphasis => self.push("<em>"),
            Tag::Strong => self.push("<strong>"),
            Tag::Strikethrough => self.push("<del>"),
            Tag::Link { dest_url, .. } => {
                if safe_url(&dest_url) {
                    let mut href = String::new();
                    escape_into(&mut href, dest_url.trim());
                    let open = format!(
                        "<a href=\"{href}\" style=\"color:{};text-decoration:underline;\">",
                        self.styles.link
                    );
                    self.push(&open);
                } else {
                    self.push("<span>");
                }
            }
            Tag::Image { dest_url, .. } => {
                self.image = Some((dest_url.to_string(), String::new()));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd, link_ok: &mut Vec<bool>) {
        match tag {
            TagEnd::Paragraph => {
                if std::mem::take(&mut self.skipping) {
                    return;
                }
                self.push("</p>\n");
            }
            TagEnd::Heading(level) => {
                let close = format!("</{}>\n", heading(level).0);
                self.push(&close);
            }
            TagEnd::BlockQuote(_) => {
                self.stack.pop();
                self.push("</blockquote>\n");
            }
            TagEnd::CodeBlock => self.push("</code></pre>\n"),
            TagEnd::List(ordered) => {
                self.stack.pop();
                self.push(if ordered { "</ol>\n" } else { "</ul>\n" });
            }
            TagEnd::Item => {
                self.stack.pop();
                self.push("</li>\n");
            }
            TagEnd::Table => self.push("</table>\n"),
            TagEnd::TableHead => {
                self.in_head = false;
                self.push("</tr>\n");
            }
            TagEnd::TableRow => self.push("</tr>\n"),
            TagEnd::TableCell => {
                let close = if self.in_head { "</th>" } else { "</td>" };
                self.cell += 1;
                self.push(close);
            }
            TagEnd::Emphasis => self.push("</em>"),
            TagEnd::Strong => self.push("</strong>"),
            TagEnd::Strikethrough => self.push("</del>"),
            TagEnd::Link => {
                let ok = link_ok.pop().unwrap_or(false);
                self.push(if ok { "</a>" } else { "</span>" });
            }
            TagEnd::Image => {
                if let Some((src, alt)) = self.image.take() {
                    if safe_url(&src) && !src.starts_with('#') {
                        let mut tag = String::from("<img src=\"");
                        escape_into(&mut tag, src.trim());
                        tag.push_str("\" alt=\"");
                        // The alt text was collected escaped already.
                        tag.push_str(&alt);
                        tag.push_str(
                            "\" style=\"display:block;max-width:100%;height:auto;border:0;\
                             margin:0 0 16px;\">",
                        );
                        self.push(&tag);
                    } else {
                        self.push(&alt);
                    }
                }
            }
            _ => {}
        }
    }
}

fn heading(level: HeadingLevel) -> (&'static str, &'static str) {
    match level {
        HeadingLevel::H1 => ("h1", "h1"),
        HeadingLevel::H2 => ("h2", "h2"),
        HeadingLevel::H3 => ("h3", "h3"),
        HeadingLevel::H4 => ("h4", "h3"),
        HeadingLevel::H5 => ("h5", "h3"),
        HeadingLevel::H6 => ("h6", "h3"),
    }
}

/// The content of the container: Markdown rendered with inline styles.
pub fn body_html(markdown: &str, styles: &Styles) -> String {
    // A style line ends its paragraph, so the block after it may follow on the next line.
    let mut source = String::with_capacity(markdown.len() + 16);
    for line in markdown.split_inclusive('\n') {
        source.push_str(line);
        if directive(line).is_some() {
            source.push_str(if line.ends_with('\n') { "\n" } else { "\n\n" });
        }
    }
    let markdown = source.as_str();
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut writer = Writer {
        styles,
        out: String::new(),
        stack: Vec::new(),
        pending: None,
        image: None,
        table_aligns: Vec::new(),
        cell: 0,
        in_head: false,
        skipping: false,
    };
    // Whether each open link was written as `<a>`.
    let mut link_ok = Vec::new();
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        if writer.skipping && !matches!(event, Event::End(TagEnd::Paragraph)) {
            continue;
        }
        match event {
            Event::Start(tag) => {
                if let Tag::Link { dest_url, .. } = &tag {
                    link_ok.push(safe_url(dest_url));
                }
                writer.start(tag, &markdown[range]);
            }
            Event::End(tag) => writer.end(tag, &mut link_ok),
            Event::Text(text) => writer.text(&text),
            Event::Code(code) => {
                let open = format!(
                    "<code style=\"font-family:{MONO};font-size:90%;background-color:#f4f4f5;\
                     padding:1px 4px;border-radius:4px;\">"
                );
                writer.push(&open);
                writer.text(&code);
                writer.push("</code>");
            }
            // Raw HTML is shown as written (HTML belongs in the HTML mode).
            Event::Html(html) | Event::InlineHtml(html) => writer.text(&html),
            Event::SoftBreak => writer.push("\n"),
            Event::HardBreak => writer.push("<br>\n"),
            Event::Rule => {
                writer.push("<hr style=\"border:0;border-top:1px solid #e4e4e7;margin:24px 0;\">\n")
            }
            Event::TaskListMarker(done) => writer.text(if done { "[x] " } else { "[ ] " }),
            _ => {}
        }
    }
    writer.out
}

/// What a new broadcast starts with.
pub const STARTER: &str = "# Hello {{{FIRST_NAME|there}}}\n\n\
Here is what is new this month.\n\n\
- **First news**: a sentence about it.\n\
- **Second news**: another one, with [a link](https://example.com).\n\n\
> A quote worth sharing.\n\n\
Thanks for reading,  \nThe team\n\n\
---\n\n\
{align=center size=13}\n\
You receive this email because you subscribed to our news. \
[Unsubscribe]({{{RESEND_UNSUBSCRIBE_URL}}})\n";

/// How a broadcast was written in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Markdown,
    Html,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Markdown => "markdown",
            Mode::Html => "html",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "html" {
            Mode::Html
        } else {
            Mode::Markdown
        }
    }
}

/// The editor's state of a broadcast: the mode, the Markdown source and the styles (the
/// broadcast itself stores the HTML they render to). Table `broadcast_designs`; a broadcast
/// made through the API has none and opens in the HTML mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Design {
    pub mode: Mode,
    pub markdown: String,
    pub styles: Styles,
}

#[derive(FromRow)]
struct DesignRow {
    mode: String,
    markdown: Option<String>,
    styles: String,
}

pub async fn design(app: &App, broadcast_id: &str) -> BroadcastResult<Option<Design>> {
    let row: Option<DesignRow> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT mode, markdown, styles FROM broadcast_designs WHERE broadcast_id = $1"
    )
    .bind(broadcast_id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|r| Design {
        mode: Mode::parse(&r.mode),
        markdown: r.markdown.unwrap_or_default(),
        styles: serde_json::from_str(&r.styles).unwrap_or_default(),
    }))
}

pub async fn save_design(app: &App, broadcast_id: &str, design: &Design) -> BroadcastResult<()> {
    let styles = serde_json::to_string(&design.styles)?;
    let markdown = (design.mode == Mode::Markdown).then_some(design.markdown.as_str());
    let now = app.now_ms();
    on_db!(app.db(), |pool| {
        sqlx::query(
            "INSERT INTO broadcast_designs (broadcast_id, mode, markdown, styles, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (broadcast_id) DO UPDATE SET \
             mode = excluded.mode, markdown = excluded.markdown, styles = excluded.styles, \
             updated_at = excluded.updated_at",
        )
        .bind(broadcast_id)
        .bind(design.mode.as_str())
        .bind(markdown)
        .bind(&styles)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_with_inline_styles() {
        let styles = Styles::default();
        let html = body_html(
            "# Hi {{{FIRST_NAME|there}}}\n\nSome *em* and **bold** and `code`.\n\n\
             - one\n- two [x](https://x.test/?a=1&b=2)\n\n> quoted\n\n<script>alert(1)</script>\n",
            &styles,
        );
        assert!(
            html.contains("<h1 style=\"margin:0 0 16px;font-size:28px;line-height:1.3;font-weight:700;text-align:left;\">Hi {{{FIRST_NAME|there}}}</h1>"),
            "{html}"
        );
        assert!(html.contains("<em>em</em> and <strong>bold</strong>"));
        assert!(html.contains("<a href=\"https://x.test/?a=1&amp;b=2\" style=\"color:#2563eb;"));
        assert!(html.contains("<blockquote"));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"));
    }

    #[test]
    fn block_style_lines_apply_to_the_next_block_only() {
        let mut styles = Styles::default();
        styles.p.size = 15;
        let html = body_html(
            "{align=center size=20 weight=bold}\nCentred\n\nNormal\n\n{align=right}\n## Right\n",
            &styles,
        );
        assert!(
            html.contains(
                "font-size:20px;line-height:1.6;font-weight:700;text-align:center;\">Centred</p>"
            ),
            "{html}"
        );
        assert!(html.contains(
            "font-size:15px;line-height:1.6;font-weight:400;text-align:left;\">Normal</p>"
        ));
        assert!(html.contains("text-align:right;\">Right</h2>"), "{html}");
        assert!(!html.contains("align="), "{html}");
        // Not a style line: shown as text.
        assert!(body_html("{color=red}", &styles).contains("{color=red}"));
    }

    #[test]
    fn unsafe_links_and_images_are_dropped() {
        let html = body_html(
            "[x](javascript:alert(1)) ![pic](https://i.test/a.png) ![bad](data:x) \
             [u]({{{RESEND_UNSUBSCRIBE_URL}}})",
            &Styles::default(),
        );
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("<span>x</span>"));
        assert!(html.contains("<img src=\"https://i.test/a.png\" alt=\"pic\""));
        assert!(!html.contains("data:x") && html.contains("bad"));
        assert!(html.contains("href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\""));
    }

    #[test]
    fn document_and_checks() {
        let mut styles = Styles::default();
        let doc = render(STARTER, &styles, "News <1>");
        assert!(doc.contains("<title>News &lt;1&gt;</title>"));
        assert!(doc.contains("max-width:600px"));
        assert!(
            doc.contains("text-align:center;\">You receive this email"),
            "{doc}"
        );
        assert!(styles.check().is_ok());
        styles.link = "red;x:expression(1)".into();
        assert!(styles.check().unwrap_err().contains("Link colour"));
        styles.link = "#abc".into();
        styles.width = 2000;
        assert!(styles.check().is_err());
        styles.width = 600;
        styles.h2.weight = 450;
        assert!(styles.check().unwrap_err().contains("Heading 2"));
        let round: Styles = serde_json::from_str(&serde_json::to_string(&styles).unwrap()).unwrap();
        assert_eq!(round, styles);
        let partial: Styles = serde_json::from_str(r#"{"width": 500}"#).unwrap();
        assert_eq!(partial.width, 500);
        assert_eq!(partial.h1, Styles::default().h1);
    }
}
