//! Django REST Framework's page-number pagination, for every list: `page`
//! (a positive integer or `last`) and `page_size` (a positive integer,
//! capped; anything else is the default and is not repeated in the links).

use serde::Serialize;

use crate::error::{Error, Result};

/// What a list answers, in DRF's shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Page<T> {
    pub fn new(window: &Window, count: i64, base: &str, query: &str, results: Vec<T>) -> Page<T> {
        let (next, previous) = window.links(base, query);
        Page {
            count,
            next,
            previous,
            results,
        }
    }
}

const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 500;

/// The rows one page shows.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub offset: i64,
    pub size: i64,
    page: i64,
    count: i64,
    /// The page size the client asked for, when it was a valid one.
    given_size: Option<i64>,
}

fn invalid_page() -> Error {
    Error::NotFoundDetail("Invalid page.")
}

impl Window {
    /// The page `page` of `count` rows; a page that does not exist (past
    /// the end but for an empty first page, 0, not a number) is DRF's
    /// `404 Invalid page.`.
    pub fn of(page: Option<&str>, page_size: Option<&str>, count: i64) -> Result<Window> {
        let given_size = page_size
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(|n| n.min(MAX_PAGE_SIZE));
        let size = given_size.unwrap_or(DEFAULT_PAGE_SIZE);
        let pages = ((count + size - 1) / size).max(1);
        let page = match page {
            None => 1,
            Some("last") => pages,
            Some(s) => s.parse::<i64>().map_err(|_| invalid_page())?,
        };
        if page < 1 || page > pages {
            return Err(invalid_page());
        }
        Ok(Window {
            offset: (page - 1).saturating_mul(size),
            size,
            page,
            count,
            given_size,
        })
    }

    /// `next` and `previous` under `base`, keeping the filters in `query`
    /// (already encoded, each `&name=value`). Relative: the request's
    /// `Host` header is the client's to choose, so it must not end up in a
    /// link latch hands out.
    pub fn links(&self, base: &str, query: &str) -> (Option<String>, Option<String>) {
        let size = self
            .given_size
            .map(|s| format!("&page_size={s}"))
            .unwrap_or_default();
        let link = |p: i64| format!("{base}/?page={p}{size}{query}");
        (
            (self.offset + self.size < self.count).then(|| link(self.page + 1)),
            (self.page > 1).then(|| link(self.page - 1)),
        )
    }
}
