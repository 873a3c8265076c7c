//! The usage chart of a key: requests per time slot, split into successes, client errors (4xx)
//! and server errors (5xx). Inline SVG, no script.

use crate::model::{format, KeyUsage, UsageBucket};
use leptos::prelude::*;

/// One bar of the chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Slot {
    pub start: i64,
    pub ok: u64,
    pub client_errors: u64,
    pub server_errors: u64,
}

impl Slot {
    fn total(&self) -> u64 {
        self.ok + self.client_errors + self.server_errors
    }
}

/// The window's slots, oldest first, with the buckets' counts put in the slot they start in.
pub fn slots(usage: &KeyUsage) -> Vec<Slot> {
    let step = usage.window.bucket_seconds();
    let n = (usage.window.seconds() / step) as usize;
    let end = (usage.now.div_euclid(step) + 1) * step;
    let first = end - n as i64 * step;
    let mut out: Vec<Slot> = (0..n).map(|i| Slot { start: first + i as i64 * step, ..Slot::default() }).collect();
    for b in &usage.buckets {
        if b.start < first || b.start >= end {
            continue;
        }
        let slot = &mut out[((b.start - first) / step) as usize];
        add(slot, b);
    }
    out
}

fn add(slot: &mut Slot, b: &UsageBucket) {
    let client: u64 = b.errors_by_status.iter().filter(|(s, _)| (400..500).contains(*s)).map(|(_, n)| n).sum();
    let server: u64 = b.errors_by_status.iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum();
    slot.client_errors += client;
    slot.server_errors += server;
    slot.ok += b.requests.saturating_sub(client + server);
}

const W: f64 = 600.0;
const H: f64 = 160.0;
const PAD_LEFT: f64 = 40.0;
const PAD_BOTTOM: f64 = 20.0;

#[component]
pub fn UsageChart(usage: KeyUsage) -> impl IntoView {
    let slots = slots(&usage);
    let total: u64 = slots.iter().map(Slot::total).sum();
    if total == 0 {
        return view! {
            <div class="chart-empty">
                <p><strong>"No requests yet"</strong></p>
                <p class="muted">{format!("Requests made with this key through the gateway in the last {} appear here.", usage.window.label())}</p>
            </div>
        }
        .into_any();
    }
    let errors4: u64 = slots.iter().map(|s| s.client_errors).sum();
    let errors5: u64 = slots.iter().map(|s| s.server_errors).sum();
    let max = slots.iter().map(Slot::total).max().unwrap_or(1).max(1);
    let plot_w = W - PAD_LEFT;
    let plot_h = H - PAD_BOTTOM;
    let bar_w = plot_w / slots.len() as f64;
    let y = |v: u64| plot_h * v as f64 / max as f64;
    let bars = slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let x = PAD_LEFT + i as f64 * bar_w + bar_w * 0.1;
            let w = (bar_w * 0.8).max(1.0);
            let (h_ok, h4, h5) = (y(s.ok), y(s.client_errors), y(s.server_errors));
            let title = format!(
                "{}: {} ({} client errors, {} server errors)",
                format::utc(s.start),
                format::count(s.total() as i64, "request"),
                s.client_errors,
                s.server_errors
            );
            view! {
                <g>
                    <title>{title}</title>
                    <rect class="ok" x=format!("{x:.1}") y=format!("{:.1}", plot_h - h_ok) width=format!("{w:.1}") height=format!("{h_ok:.1}")/>
                    <rect class="e4" x=format!("{x:.1}") y=format!("{:.1}", plot_h - h_ok - h4) width=format!("{w:.1}") height=format!("{h4:.1}")/>
                    <rect class="e5" x=format!("{x:.1}") y=format!("{:.1}", plot_h - h_ok - h4 - h5) width=format!("{w:.1}") height=format!("{h5:.1}")/>
                </g>
            }
        })
        .collect_view();
    let first = slots.first().map(|s| s.start).unwrap_or_default();
    let last = slots.last().map(|s| s.start).unwrap_or_default();
    let summary = format!(
        "{} in the last {}: {} client errors, {} server errors; busiest slot {}.",
        format::count(total as i64, "request"),
        usage.window.label(),
        errors4,
        errors5,
        format::thousands(max as i64)
    );
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=summary.clone() preserveAspectRatio="none">
                <line class="axis" x1=PAD_LEFT.to_string() y1=plot_h.to_string() x2=W.to_string() y2=plot_h.to_string()/>
                <text class="tick" x="0" y="12">{format::thousands(max as i64)}</text>
                <text class="tick" x="0" y=plot_h.to_string()>"0"</text>
                {bars}
                <text class="tick" x=PAD_LEFT.to_string() y=H.to_string()>{format::utc(first)}</text>
                <text class="tick end" x=W.to_string() y=H.to_string() text-anchor="end">{format::utc(last)}</text>
            </svg>
            <figcaption>
                <span class="legend ok">"Successful"</span>
                <span class="legend e4">"Client errors (4xx)"</span>
                <span class="legend e5">"Server errors (5xx)"</span>
                <span class="muted">{summary}</span>
            </figcaption>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UsageWindow;

    #[test]
    fn buckets_land_in_their_slots() {
        let now = 1_700_000_000;
        let hour = now - now % 3600;
        let usage = KeyUsage {
            window: UsageWindow::Day,
            buckets: vec![
                UsageBucket { start: hour, requests: 10, errors_by_status: [(403, 2), (502, 1)].into() },
                UsageBucket { start: hour - 23 * 3600, requests: 4, errors_by_status: Default::default() },
                UsageBucket { start: hour - 30 * 3600, requests: 99, errors_by_status: Default::default() },
            ],
            last_used: Some(now),
            now,
        };
        let s = slots(&usage);
        assert_eq!(s.len(), 24);
        assert_eq!(s[23], Slot { start: hour, ok: 7, client_errors: 2, server_errors: 1 });
        assert_eq!(s[0].ok, 4);
        assert_eq!(s.iter().map(Slot::total).sum::<u64>(), 14, "the bucket outside the window is left out");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn renders_bars_or_the_empty_state() {
        let now = 1_700_000_000;
        let empty = KeyUsage { now, ..KeyUsage::default() };
        let html = view! { <UsageChart usage=empty/> }.to_html();
        assert!(html.contains("No requests yet"), "{html}");
        let busy = KeyUsage {
            buckets: vec![UsageBucket { start: now - now % 3600, requests: 5, errors_by_status: [(429, 1)].into() }],
            now,
            ..KeyUsage::default()
        };
        let html = view! { <UsageChart usage=busy/> }.to_html();
        assert!(html.contains("<svg") && html.contains("class=\"e4\""), "{html}");
        assert!(html.contains("5 requests in the last 24 hours: 1 client errors"), "{html}");
    }
}
