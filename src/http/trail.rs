//! The audit trail as DRF pages, for the staff trail and a user's own
//! activity alike.

use crate::auth::audit;
use crate::error::Result;
use crate::http::pagination::{Page, Window};
use crate::state::App;
use crate::store::audit::{Filter, Listed};

/// A page of events matching `filter`, with links under `base` that keep
/// `query` (the filters, already encoded).
pub async fn page(
    app: &App,
    base: &str,
    filter: Filter,
    query: String,
    page: Option<&str>,
    page_size: Option<&str>,
) -> Result<Page<Listed>> {
    // Counted first, so a page past the end is DRF's 404.
    let (count, _) = audit::list(app, filter.clone(), 0, 0).await?;
    let window = Window::of(page, page_size, count)?;
    let (count, results) = audit::list(app, filter, window.offset, window.size).await?;
    Ok(Page::new(&window, count, base, &query, results))
}
