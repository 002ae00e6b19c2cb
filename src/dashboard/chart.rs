//! A line chart drawn on the server as inline SVG (no script, no chart library, nothing
//! fetched): the broadcast performance page's opens and clicks over time. Colours are
//! presentation attributes, not `style`, so the pages' strict CSP allows them.

use std::fmt::Write as _;

/// One line of the chart.
pub struct Series<'a> {
    pub name: &'a str,
    /// `stroke` colour (a fixed `#rrggbb` of ours).
    pub colour: &'static str,
    pub values: &'a [u64],
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn escape(text: &str) -> String {
    let mut out = String::new();
    crate::templates::substitute::escape_html_into(&mut out, text);
    out
}

/// The chart of `series` over buckets labelled by `labels` (one per bucket; the first, the
/// middle and the last are written under the axis). `title` names it for screen readers.
pub fn line_chart(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let buckets = labels.len().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    // A round top for the axis: 1, 2 or 5 times a power of ten.
    let mut top = 1u64;
    while top < max {
        top = match top.to_string().as_bytes()[0] {
            b'1' => top * 2,
            b'2' => top / 2 * 5,
            _ => top * 2,
        };
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if buckets == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (buckets - 1) as f64
        }
    };
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / top as f64;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"chart-title\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-title\">{}</title>",
        escape(title)
    );
    // Grid lines and the value axis.
    for step in 0..=2u64 {
        let value = top * step / 2;
        let gy = y(value);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{gy:.1}\" y2=\"{gy:.1}\" stroke=\"#e4e4e7\" \
             stroke-width=\"1\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" \
             font-size=\"11\" fill=\"#71717a\">{value}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            gy + 4.0
        );
    }
    // Time labels: first, middle, last.
    let mut shown = vec![0, buckets / 2, buckets - 1];
    shown.dedup();
    for i in shown {
        if let Some(label) = labels.get(i) {
            let anchor = if i == 0 && buckets > 1 {
                "start"
            } else if i == buckets - 1 && buckets > 1 {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"11\" \
                 fill=\"#71717a\">{}</text>",
                x(i),
                HEIGHT - 8.0,
                escape(label)
            );
        }
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" \
             stroke-width=\"2\" stroke-linejoin=\"round\" points=\"{}\"/>",
            escape(s.name),
            s.colour,
            points.join(" ")
        );
        if s.values.len() == 1 {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>",
                x(0),
                y(s.values[0]),
                s.colour
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lines_scaled_to_a_round_top() {
        let labels: Vec<String> = ["10:00", "11:00", "12:00"].map(String::from).to_vec();
        let svg = line_chart(
            "Opens & clicks",
            &labels,
            &[
                Series {
                    name: "Opens",
                    colour: "#4f46e5",
                    values: &[0, 7, 3],
                },
                Series {
                    name: "Clicks",
                    colour: "#16a34a",
                    values: &[0, 2, 1],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"chart-title\">Opens &amp; clicks</title>"));
        // 7 rounds up to 10: the labels are 0, 5 and 10.
        assert!(
            svg.contains(">10</text>") && svg.contains(">5</text>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">10:00</text>") && svg.contains(">12:00</text>"));
        assert!(!svg.contains("style="));
        let empty = line_chart("x", &[], &[]);
        assert!(empty.contains(">1</text>"));
    }
}
