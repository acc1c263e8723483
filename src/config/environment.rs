//! The `DOCSPACE_*` environment read as the reference server reads it, so
//! that switching from ONLYOFFICE's server is a change of `command` and
//! nothing else.
//!
//! - An **empty** variable (`.env` files and compose templates leave them
//!   empty all the time) is read as the reference reads it: a boolean as
//!   false, a number whose 0 means something there (a port, proxy hops, a
//!   rate limit, a CORS cache time) as 0, a list whose emptiness means
//!   something (allowed hostnames, CORS origins, the header prefix) as empty,
//!   and anything else as unset, so its default applies. clap alone would
//!   refuse `DOCSPACE_READ_ONLY=` as "invalid value ''".
//! - The reference's `DOCSPACE_FILE_OPERATION_TIMEOUT` and
//!   `DOCSPACE_FILE_OPERATION_INTERVAL` (milliseconds) are read as aliases
//!   (see [`super::args::ServeArgs`]).
//! - A `DOCSPACE_*` variable this server does not read is named in a warning
//!   at start-up, with the closest known name or, for the reference's own
//!   variables that have no equivalent here, what to use instead: a typo is
//!   never silently ignored.

use std::any::TypeId;
use std::ffi::OsString;

use clap::{Command, CommandFactory, FromArgMatches};

use crate::Cli;

/// How an empty variable is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// As if it were not set: the default applies.
    Unset,
    /// As this value.
    Value(&'static str),
    /// As the empty string (the setting gives emptiness a meaning).
    Kept,
}

/// Settings whose empty value means "none" (and is not the default).
const EMPTY_MEANS_NONE: &[&str] = &[
    "DOCSPACE_SERVER_ALLOWED_HOSTNAMES",
    "DOCSPACE_SERVER_CORS_MCP_ORIGIN",
    "DOCSPACE_SERVER_CORS_OAUTH_ORIGIN",
    "DOCSPACE_REQUEST_HEADER_PREFIX",
];

/// The reference's numbers whose 0 means the same here (the reference reads
/// an empty number as 0).
const EMPTY_MEANS_ZERO: &[&str] =
    &["DOCSPACE_PORT", "DOCSPACE_PROXY_HOPS", "DOCSPACE_SERVER_CORS_MCP_MAX_AGE", "DOCSPACE_SERVER_CORS_OAUTH_MAX_AGE"];

fn reading(variable: &str, boolean: bool) -> Empty {
    if boolean {
        Empty::Value("false")
    } else if EMPTY_MEANS_NONE.contains(&variable) {
        Empty::Kept
    } else if EMPTY_MEANS_ZERO.contains(&variable) || variable.starts_with("DOCSPACE_SERVER_RATE_LIMITS_") {
        Empty::Value("0")
    } else {
        Empty::Unset
    }
}

/// `command` with every argument whose variable is set but empty (or only
/// spaces) rewritten to read it as [`reading`] says; `lookup` reads the
/// environment.
fn read_empty_variables(mut command: Command, lookup: &dyn Fn(&str) -> Option<OsString>) -> Command {
    let empty: Vec<(clap::Id, Empty)> = command
        .get_arguments()
        .filter_map(|arg| {
            let variable = arg.get_env()?.to_str()?;
            let value = lookup(variable)?;
            if !value.to_str().is_some_and(|v| v.trim().is_empty()) {
                return None;
            }
            let boolean = arg.get_value_parser().type_id() == TypeId::of::<bool>();
            Some((arg.get_id().clone(), reading(variable, boolean)))
        })
        .collect();
    for (id, how) in empty {
        command = match how {
            Empty::Kept => command,
            Empty::Unset => command.mut_arg(id, |a| a.env(None)),
            Empty::Value(v) => command.mut_arg(id, |a| a.env(None).default_value(v)),
        };
    }
    let subcommands: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in subcommands {
        command = command.mut_subcommand(name, |s| read_empty_variables(s, lookup));
    }
    command
}

/// Parses `args` and the process environment into a [`Cli`] as clap does,
/// with empty `DOCSPACE_*` variables read as the reference server reads them.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut command = read_empty_variables(without_what_the_sandbox_sets(Cli::command()), &|v| std::env::var_os(v));
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// The settings `docspace-mcp sandbox` sets itself (its portal, its
/// credentials, its OAuth application and key): hidden from its `--help`,
/// which lists only what it takes.
pub(crate) const SET_BY_THE_SANDBOX: &[&str] = &[
    "base_url",
    "api_key",
    "auth_token",
    "username",
    "password",
    "authorization",
    "oauth_base_url",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_secret_key",
    "server_base_url",
];

fn without_what_the_sandbox_sets(command: Command) -> Command {
    command.mut_subcommand("sandbox", |mut s| {
        for id in SET_BY_THE_SANDBOX {
            s = s.mut_arg(*id, |a| a.hide(true));
        }
        s
    })
}

/// Variables this server reads beyond the command line's: at build time
/// (the description), and the test harness's.
const OTHER_VARIABLES: &[&str] =
    &["DOCSPACE_OPENAPI", "DOCSPACE_OPENAPI_OFFLINE", "DOCSPACE_OPENAPI_URL", "DOCSPACE_OPENAPI_3_5"];

/// The reference server's variables with no equivalent here, and what to do.
const REFERENCE_ONLY: &[(&str, &str)] = &[
    (
        "DOCSPACE_SESSION_TTL",
        "sessions have no fixed lifetime here: one idle for DOCSPACE_SESSION_IDLE_TIMEOUT (seconds) is closed",
    ),
    ("DOCSPACE_SESSION_INTERVAL", "idle sessions are swept on their own schedule here (DOCSPACE_SESSION_IDLE_TIMEOUT)"),
    (
        "DOCSPACE_INTERNAL",
        "the reference's undocumented embedded mode has no equivalent: use --transport streamable-http with \
         DOCSPACE_REQUEST_AUTHORIZATION_HEADER",
    ),
    (
        "DOCSPACE_OAUTH_AUTH_TOKEN_ALGORITHM",
        "tokens are sealed with AES-256-GCM here (no algorithm to choose; DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY is the key)",
    ),
    (
        "DOCSPACE_OAUTH_STATE_TOKEN_ALGORITHM",
        "state is sealed with AES-256-GCM here (no algorithm to choose; DOCSPACE_OAUTH_STATE_TOKEN_SECRET_KEY is the key)",
    ),
    (
        "DOCSPACE_SERVER_PROXY_HOPS",
        "the name in the reference's documentation, which its code never reads: set DOCSPACE_PROXY_HOPS",
    ),
];

fn variables_of(command: &Command, into: &mut Vec<String>) {
    into.extend(command.get_arguments().filter_map(|a| a.get_env()?.to_str().map(str::to_owned)));
    for s in command.get_subcommands() {
        variables_of(s, into);
    }
}

/// Every variable this server reads.
fn known_variables() -> Vec<String> {
    let mut known = Vec::new();
    variables_of(&Cli::command(), &mut known);
    known.extend(OTHER_VARIABLES.iter().map(|v| (*v).to_owned()));
    known.sort();
    known.dedup();
    known
}

/// A warning for each `DOCSPACE_*` variable in `environment` that this
/// server does not read (names starting `DOCSPACE_MCP_` belong to the test
/// harness and are skipped).
pub(crate) fn unknown_variables(environment: impl IntoIterator<Item = String>) -> Vec<String> {
    let known = known_variables();
    let mut names: Vec<String> = environment
        .into_iter()
        .filter(|n| n.starts_with("DOCSPACE_") && !n.starts_with("DOCSPACE_MCP_") && !known.contains(n))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            if let Some((_, instead)) = REFERENCE_ONLY.iter().find(|(n, _)| *n == name) {
                return format!("{name} is not read by this server: {instead}");
            }
            let closest = known
                .iter()
                .map(|k| (crate::tools::selection::distance(&name, k), k))
                .filter(|(d, _)| *d <= name.len().div_ceil(4))
                .min();
            match closest {
                Some((_, k)) => format!("{name} is not a setting of this server and is ignored; did you mean {k}?"),
                None => format!(
                    "{name} is not a setting of this server and is ignored; `docspace-mcp --help` lists every setting"
                ),
            }
        })
        .collect()
}

/// A warning for each `DOCSPACE_*` variable of the process environment that
/// this server does not read, with the closest setting or what to use instead.
pub fn environment_warnings() -> Vec<String> {
    unknown_variables(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Cli, clap::Error> {
        let env: Vec<(String, OsString)> = env.iter().map(|(k, v)| ((*k).to_owned(), OsString::from(*v))).collect();
        let lookup = |v: &str| env.iter().find(|(k, _)| k == v).map(|(_, v)| v.clone());
        let mut command = read_empty_variables(Cli::command(), &lookup);
        // clap reads the real environment for the variables left bound: the
        // variables under test are unset there, so give their values as flags.
        let matches = command.try_get_matches_from_mut(std::iter::once("docspace-mcp").chain(args.iter().copied()))?;
        Cli::from_arg_matches(&matches)
    }

    #[test]
    fn empty_variables_read_as_the_reference_reads_them() {
        // Not set in the test's environment: only the rewriting is under test.
        for v in ["DOCSPACE_REQUEST_AUTHORIZATION_HEADER", "DOCSPACE_PORT", "DOCSPACE_REQUEST_QUERY"] {
            assert!(std::env::var_os(v).is_none(), "{v} is set in the test environment");
        }
        assert_eq!(reading("DOCSPACE_REQUEST_QUERY", true), Empty::Value("false"));
        assert_eq!(reading("DOCSPACE_PORT", false), Empty::Value("0"));
        assert_eq!(reading("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_WINDOW", false), Empty::Value("0"));
        assert_eq!(reading("DOCSPACE_SERVER_ALLOWED_HOSTNAMES", false), Empty::Kept);
        assert_eq!(reading("DOCSPACE_REQUEST_TIMEOUT", false), Empty::Unset);
        assert_eq!(reading("DOCSPACE_API_KEY", false), Empty::Unset);

        let cli = parse(
            &[],
            &[("DOCSPACE_REQUEST_AUTHORIZATION_HEADER", ""), ("DOCSPACE_PORT", " "), ("DOCSPACE_REQUEST_TIMEOUT", "")],
        )
        .unwrap();
        assert!(!cli.serve.http.request_authorization_header, "an empty boolean is false");
        assert_eq!(cli.serve.http.port, 0, "an empty port is 0, a free port");
        assert_eq!(cli.serve.request_timeout, 60, "an empty number of this server's own is its default");
        // A flag still wins over an empty variable.
        let cli = parse(&["--port", "9000"], &[("DOCSPACE_PORT", "")]).unwrap();
        assert_eq!(cli.serve.http.port, 9000);
        // The subcommands read them the same way.
        let cli = parse(&["sandbox"], &[("DOCSPACE_REQUEST_QUERY", "")]).unwrap();
        let Some(crate::cli::Command::Sandbox(s)) = cli.command else { panic!("sandbox") };
        assert!(!s.serve.http.request_query, "an empty boolean is false in a subcommand too");
    }

    #[test]
    fn sandbox_help_lists_only_what_it_takes() {
        let mut command = without_what_the_sandbox_sets(Cli::command());
        let help = command.find_subcommand_mut("sandbox").unwrap().render_long_help().to_string();
        assert!(!help.contains("--api-key") && !help.contains("--base-url") && !help.contains("--oauth-client-id"));
        assert!(help.contains("--portal-only") && help.contains("--toolsets") && help.contains("--transport"));
        let serve = command.find_subcommand_mut("serve").unwrap().render_long_help().to_string();
        assert!(serve.contains("--api-key") && serve.contains("--base-url"), "serve keeps them");
    }

    #[test]
    fn unknown_variables_are_named_with_the_closest_setting() {
        let warnings = unknown_variables(
            [
                "DOCSPACE_TOOLSET",
                "DOCSPACE_API_KEY",
                "DOCSPACE_SESSION_TTL",
                "DOCSPACE_MCP_PYTHON",
                "DOCSPACE_OPENAPI",
                "HOME",
                "DOCSPACE_ZZZZZZZZZZZZ",
            ]
            .map(str::to_owned),
        );
        assert_eq!(
            warnings,
            [
                "DOCSPACE_SESSION_TTL is not read by this server: sessions have no fixed lifetime here: one idle for \
                 DOCSPACE_SESSION_IDLE_TIMEOUT (seconds) is closed",
                "DOCSPACE_TOOLSET is not a setting of this server and is ignored; did you mean DOCSPACE_TOOLSETS?",
                "DOCSPACE_ZZZZZZZZZZZZ is not a setting of this server and is ignored; `docspace-mcp --help` lists \
                 every setting",
            ]
        );
        // Every variable the reference documents is known, or named with what to do instead.
        for v in ["DOCSPACE_FILE_OPERATION_TIMEOUT", "DOCSPACE_FILE_OPERATION_INTERVAL", "DOCSPACE_INTERNAL"] {
            let w = unknown_variables([v.to_owned()]);
            assert!(w.is_empty() || w[0].contains("not read by this server"), "{v}: {w:?}");
        }
    }
}
