//! Which GitHub repository a git remote's URL names: `https://HOST/OWNER/NAME(.git)`,
//! `git@HOST:OWNER/NAME(.git)`, `ssh://git@HOST(:PORT)/OWNER/NAME(.git)`.

/// `owner/name` on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoId {
    pub host: String,
    pub owner: String,
    pub name: String,
}

impl RepoId {
    /// `owner/name`, as `[forge] repo` says it.
    pub fn parse_slug(slug: &str, host: &str) -> Option<RepoId> {
        let (owner, name) = slug.trim().split_once('/')?;
        let name = name.strip_suffix(".git").unwrap_or(name);
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(owner) && ok(name)).then(|| RepoId {
            host: host.to_owned(),
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The repository a remote URL names, when it names one on a forge.
    pub fn from_remote_url(url: &str) -> Option<RepoId> {
        let url = url.trim();
        let (host, path) = if let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .or_else(|| url.strip_prefix("ssh://"))
            .or_else(|| url.strip_prefix("git://"))
        {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            let host = host.split(':').next()?;
            (host, path)
        } else {
            // scp-like: [user@]host:owner/name
            let (authority, path) = url.split_once(':')?;
            if authority.contains('/') || path.starts_with('/') {
                return None;
            }
            (authority.rsplit('@').next()?, path)
        };
        if host.is_empty() {
            return None;
        }
        RepoId::parse_slug(path.trim_end_matches('/'), host)
    }

    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The host whose API `api_url` is: `github.com` for `api.github.com`, else its own host.
pub fn api_host(api_url: &str) -> String {
    let rest = api_url.split_once("://").map_or(api_url, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    match host {
        "api.github.com" => "github.com".to_owned(),
        _ => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_name_their_repository() {
        let cases = [
            (
                "https://github.com/acme/widgets.git",
                Some(("github.com", "acme/widgets")),
            ),
            (
                "https://github.com/acme/widgets",
                Some(("github.com", "acme/widgets")),
            ),
            (
                "https://x-access-token@ghe.corp/acme/w-1/",
                Some(("ghe.corp", "acme/w-1")),
            ),
            (
                "git@github.com:acme/widgets.git",
                Some(("github.com", "acme/widgets")),
            ),
            (
                "ssh://git@github.com:22/acme/widgets.git",
                Some(("github.com", "acme/widgets")),
            ),
            ("/srv/git/widgets.git", None),
            ("../remote.git", None),
            ("https://github.com/acme", None),
            ("https://github.com/acme/widgets/extra", None),
        ];
        for (url, want) in cases {
            let got = RepoId::from_remote_url(url).map(|r| (r.host.clone(), r.slug()));
            let want = want.map(|(h, s)| (h.to_owned(), s.to_owned()));
            assert_eq!(got, want, "{url}");
        }
    }

    #[test]
    fn the_api_names_its_host() {
        assert_eq!(api_host("https://api.github.com"), "github.com");
        assert_eq!(api_host("https://ghe.corp/api/v3"), "ghe.corp");
        assert_eq!(api_host("http://127.0.0.1:8080"), "127.0.0.1");
    }
}
