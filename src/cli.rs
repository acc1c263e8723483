//! The command line: `docspace-mcp tools list|show|info|search|toolsets|dump|diff|responses`.
//!
//! Output goes to an explicit writer (stdout from `main`), never through
//! `println!`: when the server speaks MCP over stdio, stdout is the protocol.

use std::io::Write;

use clap::{Args, Parser, Subcommand};
use docspace_mcp_codegen::{self as codegen, diff};
use serde_json::{Value, json};

use crate::config::ServeArgs;
use crate::tools::catalogue::{self, ToolDef};
use crate::tools::selection;

/// MCP server for ONLYOFFICE DocSpace: every DocSpace API operation as an MCP tool.
///
/// Without a command, serves MCP over stdio (the same as `docspace-mcp serve`), configured by the
/// flags below or their DOCSPACE_* environment variables. Logs go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "docspace-mcp",
    version,
    about,
    long_about,
    propagate_version = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server settings, when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The command line and the environment, as [`Parser::parse`] reads them
    /// (printing help, the version or an error and exiting where it would),
    /// except that empty `DOCSPACE_*` variables are read as the reference
    /// server reads them (see `config::environment`).
    pub fn from_env() -> Self {
        crate::config::environment::parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP (the default command): over stdio, or over HTTP with --transport.
    Serve(Box<ServeArgs>),
    /// Try it with no portal: start the embedded sandbox portal on 127.0.0.1 and serve MCP against
    /// it (over stdio, or HTTP with --transport). The sandbox lives in memory and is gone when the
    /// process ends.
    Sandbox(Box<SandboxArgs>),
    /// Inspect the tool catalogue generated from the DocSpace OpenAPI description.
    #[command(subcommand)]
    Tools(ToolsCommand),
}

/// `docspace-mcp tools …`
#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// List tools: name, toolset, hints (RO read-only, D destructive, I idempotent) and size.
    List(ListArgs),
    /// Print one tool's MCP definition (name, description, input and output schema) as JSON.
    Show {
        /// Tool name (or an alias).
        name: String,
    },
    /// Print the DocSpace API version, catalogue totals and what normalisation rewrote.
    Info,
    /// Rank tools for a plain-language query, as the `search_tools` meta tool does.
    Search {
        /// What you want to do, e.g. "share a room with a user".
        query: String,
        /// How many tools to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// List toolsets with their tool counts and descriptions.
    Toolsets {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the whole catalogue as JSON: every tool's MCP definition with its operation, toolsets,
    /// aliases and place in the default catalogue. `tools diff` reads it back, so a released
    /// binary's catalogue can be compared with a new build's.
    Dump,
    /// Report what a change of DocSpace description means for MCP clients: tools added, removed,
    /// renamed, moved; per tool, breaking and compatible changes of the input schema, annotations,
    /// method, path and output schema; `openapi/tools.toml` entries that no longer apply; default-
    /// catalogue tools affected; search-index changes.
    ///
    /// OLD and NEW are OpenAPI descriptions (YAML or JSON, 3.0 or 3.1), whose catalogues are built
    /// with the overlay, or catalogue dumps (`tools dump`, or the `tools list --toolsets all --json`
    /// array of any build, which lacks toolsets and operations). Markdown goes to stdout unless
    /// --format json; --markdown-out and --json-out write files.
    Diff(DiffArgs),
    /// List the operations whose declared success answers the generated client does not decode as
    /// declared (a shape the wire rules rewrote, no body or no 2xx declared, not JSON, untyped
    /// multipart answers), with what its tolerant decoding falls back on, and how many answers it
    /// decodes more loosely than declared: where DocSpace's description and its behaviour may part.
    Responses {
        /// An OpenAPI description (YAML or JSON, 3.0 or 3.1).
        description: std::path::PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = DiffFormat::Markdown)]
        format: DiffFormat,
    },
}

/// `tools diff` options.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old description or catalogue dump.
    pub old: std::path::PathBuf,
    /// The new description or catalogue dump.
    pub new: std::path::PathBuf,
    /// The curation overlay applied to descriptions (default: the `openapi/tools.toml` this binary
    /// was built with). Entries that do not apply to a side are left out and reported.
    #[arg(long, value_name = "FILE", conflicts_with = "no_overlay")]
    pub overlay: Option<std::path::PathBuf>,
    /// Compare the generated catalogues, with no curation.
    #[arg(long)]
    pub no_overlay: bool,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = DiffFormat::Markdown)]
    pub format: DiffFormat,
    /// Also write the Markdown report to this file (stdout then gets a one-line summary).
    #[arg(long, value_name = "FILE")]
    pub markdown_out: Option<std::path::PathBuf>,
    /// Also write the JSON report to this file (stdout then gets a one-line summary).
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<std::path::PathBuf>,
    /// Exit with an error (status 1) when the report has breaking changes or `tools.toml` entries
    /// that no longer apply (`breaking`), or any change at all (`any`): for CI.
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    pub fail_on: FailOn,
}

/// `tools diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// For a pull-request review.
    Markdown,
    /// For tooling.
    Json,
}

/// `tools diff --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Never fail because of the report.
    Never,
    /// Fail when there is a breaking change.
    Breaking,
    /// Fail when there is any change.
    Any,
}

/// `docspace-mcp sandbox` options.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port of the sandbox portal on 127.0.0.1 (0 picks a free port).
    #[arg(long, env = "DOCSPACE_SANDBOX_PORT", default_value_t = 0, value_name = "PORT")]
    pub portal_port: u16,
    /// Run only the portal (print its address and credentials on stderr) without an MCP server,
    /// e.g. to point another `docspace-mcp` or curl at it. Stops on Ctrl-C.
    #[arg(long)]
    pub portal_only: bool,
    /// Turn the OAuth proxy on against the sandbox's own authorization server (HTTP transports
    /// only): MCP clients register with this server and sign in as the sandbox user through the
    /// consent page and the sandbox's login page. A new signing key is made at each start.
    #[arg(long)]
    pub oauth: bool,
    /// With --oauth: no shared application; clients enter the sandbox application's client id and
    /// secret (`sandbox-oauth-client` / `sandbox-oauth-secret`) themselves.
    #[arg(long, requires = "oauth")]
    pub oauth_own_client: bool,
    /// Tool selection and logging as for `serve` (the portal address and credentials are the sandbox's).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `tools list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tools of these toolsets (comma-separated; `all` for every toolset).
    #[arg(long, env = "DOCSPACE_TOOLSETS", value_delimiter = ',', value_name = "TOOLSETS")]
    pub toolsets: Vec<String>,
    /// Print the tools as the JSON array `tools/list` would return.
    #[arg(long)]
    pub json: bool,
}

/// A command failed; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No tool has this name.
    #[error("no tool is named `{0}`; `docspace-mcp tools list` shows every name")]
    UnknownTool(String),
    /// The selection is not valid.
    #[error(transparent)]
    Selection(selection::Error),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
    /// A file given to `tools diff` cannot be read or understood.
    #[error("{path}: {why}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// `tools diff --fail-on` found what it fails on.
    #[error("{0} (--fail-on)")]
    Changes(String),
}

/// Runs a `tools` command, writing to `out`.
pub fn run_tools(command: ToolsCommand, out: &mut dyn Write) -> Result<(), Error> {
    let result = match command {
        ToolsCommand::List(args) => list(&args, out),
        ToolsCommand::Show { name } => show(&name, out),
        ToolsCommand::Info => info(out),
        ToolsCommand::Search { query, limit } => search(&query, limit, out),
        ToolsCommand::Toolsets { json } => toolsets(json, out),
        ToolsCommand::Dump => dump(out),
        ToolsCommand::Diff(args) => diff(&args, out),
        ToolsCommand::Responses { description, format } => responses(&description, format, out),
    };
    match result {
        // `docspace-mcp tools list | head` is not an error.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The tools of `toolsets` as the server would select them (the default
/// catalogue when empty, every tool for `all`).
pub(crate) fn select(toolsets: &[String]) -> Result<Vec<&'static ToolDef>, Error> {
    selection::select(toolsets, &[], &[], false).map_err(Error::Selection)
}

fn list(args: &ListArgs, out: &mut dyn Write) -> Result<(), Error> {
    let tools = select(&args.toolsets)?;
    if args.json {
        let all: Vec<Value> = tools.iter().map(|t| t.to_mcp()).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&all).unwrap_or_default())?;
        return Ok(());
    }
    let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    let ts_width = tools.iter().map(|t| t.toolset.len()).max().unwrap_or(7).max(7);
    writeln!(out, "{:<width$}  {:<ts_width$}  {:<8}  {:>6}", "NAME", "TOOLSET", "HINTS", "BYTES")?;
    let mut total = 0;
    for t in &tools {
        let size = t.mcp_size();
        total += size;
        writeln!(out, "{:<width$}  {:<ts_width$}  {:<8}  {:>6}", t.name, t.toolset, t.hints(), size)?;
    }
    writeln!(out, "{} tools; {} bytes of tool definitions (~{} tokens)", tools.len(), total, total / 4)?;
    Ok(())
}

fn show(name: &str, out: &mut dyn Write) -> Result<(), Error> {
    let tool = catalogue::find(name).ok_or_else(|| Error::UnknownTool(name.to_owned()))?;
    let mut def = tool.to_mcp();
    if let Some(obj) = def.as_object_mut() {
        obj.insert(
            "x-docspace".into(),
            json!({
                "operationId": tool.operation_id,
                "method": tool.method,
                "path": tool.path,
                "toolsets": tool.toolsets().collect::<Vec<_>>(),
                "aliases": tool.aliases,
                "hiddenParameters": tool.hidden,
                "multipart": tool.multipart,
                "public": tool.public,
            }),
        );
    }
    writeln!(out, "{}", serde_json::to_string_pretty(&def).unwrap_or_default())?;
    Ok(())
}

fn info(out: &mut dyn Write) -> Result<(), Error> {
    let total: usize = catalogue::TOOLS.iter().map(ToolDef::mcp_size).sum();
    writeln!(out, "DocSpace API version: {}", catalogue::API_VERSION)?;
    writeln!(
        out,
        "Catalogue: {} tools ({} operations, {} workflows) in {} toolsets, {} bytes of tool definitions (~{} tokens); {} with an output schema",
        catalogue::TOOLS.len(),
        catalogue::TOOLS.iter().filter(|t| !t.workflow).count(),
        catalogue::TOOLS.iter().filter(|t| t.workflow).count(),
        catalogue::TOOLSETS.len(),
        total,
        total / 4,
        catalogue::TOOLS.iter().filter(|t| t.output_schema_at.is_some()).count()
    )?;
    for (id, why) in catalogue::EXCLUDED {
        writeln!(out, "Excluded: {id} ({why})")?;
    }
    writeln!(out, "\nNormalisation of the description:\n{}", catalogue::NORMALISATION)?;
    Ok(())
}

fn search(query: &str, limit: usize, out: &mut dyn Write) -> Result<(), Error> {
    for (t, score) in crate::tools::search::search(query, |_| true, limit) {
        writeln!(out, "{score:>6.2}  {:<40}  {}", t.name, t.title)?;
    }
    Ok(())
}

fn toolsets(json: bool, out: &mut dyn Write) -> Result<(), Error> {
    // (tools, bytes of their definitions) of a toolset.
    let size = |name: &str| {
        let tools: Vec<&ToolDef> = catalogue::TOOLS.iter().filter(|t| t.toolsets().any(|ts| ts == name)).collect();
        (tools.len(), tools.iter().map(|t| t.mcp_size()).sum::<usize>())
    };
    let is_default = |name: &str| catalogue::CORE_TOOLSETS.contains(&name);
    if json {
        let all: Vec<Value> = catalogue::TOOLSETS
            .iter()
            .map(|t| {
                let (tools, bytes) = size(t.name);
                json!({
                    "name": t.name, "group": t.group, "tag": t.tag, "curated": t.tag.is_empty(),
                    "default": is_default(t.name), "tools": tools, "bytes": bytes, "description": t.description,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&all).unwrap_or_default())?;
        return Ok(());
    }
    let width = catalogue::TOOLSETS.iter().map(|t| t.name.len()).max().unwrap_or(7);
    writeln!(out, "{:<width$}  {:>5}  {:>7}  DESCRIPTION", "TOOLSET", "TOOLS", "~TOKENS")?;
    for t in catalogue::TOOLSETS {
        let (tools, bytes) = size(t.name);
        let mark = if is_default(t.name) { "[default] " } else { "" };
        writeln!(out, "{:<width$}  {tools:>5}  {:>7}  {mark}{}", t.name, bytes / 4, t.description)?;
    }
    writeln!(out, "\nWith no DOCSPACE_TOOLSETS the server offers the [default] toolsets; `all` offers every tool.")?;
    Ok(())
}

/// The overlay this binary was built with.
const OVERLAY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/tools.toml"));

/// This binary's catalogue, as `tools diff` compares it.
fn built_in() -> diff::Side {
    let tools = catalogue::TOOLS
        .iter()
        .map(|t| diff::Tool {
            name: t.name.to_owned(),
            aliases: Some(t.aliases.iter().map(|a| (*a).to_owned()).collect()),
            operation_id: Some(t.operation_id.to_owned()).filter(|id| !id.is_empty()),
            method: Some(t.method.to_owned()).filter(|m| !m.is_empty()),
            path: Some(t.path.to_owned()).filter(|p| !p.is_empty()),
            toolsets: Some(t.toolsets().map(str::to_owned).collect()),
            core: Some(t.is_core()),
            title: t.title.to_owned(),
            description: t.description.to_owned(),
            input_schema: Value::Object(t.input_schema()),
            output_schema: t.output_schema().map(Value::Object),
            read_only: t.read_only,
            destructive: !t.read_only && t.destructive,
            idempotent: !t.read_only && t.idempotent,
        })
        .collect();
    diff::Side {
        source: format!("docspace-mcp {}", env!("CARGO_PKG_VERSION")),
        api_version: Some(catalogue::API_VERSION.to_owned()),
        tools,
        overlay_problems: None,
    }
}

fn dump(out: &mut dyn Write) -> Result<(), Error> {
    writeln!(out, "{}", serde_json::to_string_pretty(&built_in().to_dump()).unwrap_or_default())?;
    Ok(())
}

fn diff(args: &DiffArgs, out: &mut dyn Write) -> Result<(), Error> {
    let input = |path: &std::path::Path, why: String| Error::Input { path: path.display().to_string(), why };
    let overlay_text = match (&args.overlay, args.no_overlay) {
        (_, true) => String::new(),
        (Some(path), false) => std::fs::read_to_string(path).map_err(|e| input(path, e.to_string()))?,
        (None, false) => OVERLAY.to_owned(),
    };
    let overlay = codegen::Overlay::parse(&overlay_text).map_err(|e| {
        let path = args.overlay.clone().unwrap_or_else(|| "openapi/tools.toml".into());
        input(&path, e.to_string())
    })?;
    let load = |path: &std::path::Path| -> Result<diff::Side, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| input(path, e.to_string()))?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let mut side = diff::Side::load(&name, &text, &overlay).map_err(|e| input(path, e.to_string()))?;
        // A catalogue built from a description gets what this server adds to
        // schemas at run time (the listing tools' `verbosity`), as a dump has it.
        if side.overlay_problems.is_some() {
            for tool in &mut side.tools {
                if let Some(op) = tool.operation_id.as_deref() {
                    crate::tools::listing::add_argument(op, &mut tool.input_schema);
                }
            }
        }
        Ok(side)
    };
    let report = diff::diff(&load(&args.old)?, &load(&args.new)?);
    let write =
        |path: &std::path::Path, text: String| std::fs::write(path, text).map_err(|e| input(path, e.to_string()));
    if let Some(path) = &args.markdown_out {
        write(path, report.markdown())?;
    }
    if let Some(path) = &args.json_out {
        write(path, report.json())?;
    }
    let t = &report.totals;
    let line = format!(
        "{} breaking and {} compatible changes; {} tools added, {} removed, {} renamed, {} moved; {} tools.toml entries no longer apply",
        t.breaking, t.compatible, t.added, t.removed, t.renamed, t.moved, t.overlay_entries_broken
    );
    if args.markdown_out.is_some() || args.json_out.is_some() {
        writeln!(out, "{line}")?;
    } else {
        match args.format {
            DiffFormat::Markdown => write!(out, "{}", report.markdown())?,
            DiffFormat::Json => writeln!(out, "{}", report.json())?,
        }
    }
    let any = t.breaking + t.compatible + t.overlay_entries_broken > 0;
    match args.fail_on {
        FailOn::Breaking if t.breaking + t.overlay_entries_broken > 0 => Err(Error::Changes(format!(
            "{} breaking changes, {} tools.toml entries no longer apply",
            t.breaking, t.overlay_entries_broken
        ))),
        FailOn::Any if any => Err(Error::Changes(line)),
        _ => Ok(()),
    }
}

fn responses(path: &std::path::Path, format: DiffFormat, out: &mut dyn Write) -> Result<(), Error> {
    let input = |why: String| Error::Input { path: path.display().to_string(), why };
    let text = std::fs::read_to_string(path).map_err(|e| input(e.to_string()))?;
    let report = codegen::responses::report(&text).map_err(|e| input(e.to_string()))?;
    match format {
        DiffFormat::Markdown => write!(out, "{}", report.markdown())?,
        DiffFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default())?,
    }
    Ok(())
}

/// The configuration reference (`docs/configuration.md`), generated from the
/// command line's own definitions so that `--help` and the docs cannot
/// drift: every setting of `serve` (the default command) and `sandbox`, by
/// `--help` heading, with its flag, environment variable and default.
pub fn configuration_reference() -> String {
    use clap::CommandFactory;
    let cli = Cli::command();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from the command line's definitions (src/config/args.rs, src/cli.rs) by the test \
         `cli::the_configuration_reference_matches_the_command_line`. Do not edit: change the definitions and run \
         `DOCSPACE_MCP_UPDATE_DOCS=1 cargo test --test integration configuration_reference`. -->\n\n\
         Every setting is a flag of `docspace-mcp serve` (the default command) and an environment variable; a flag \
         given on the command line wins over the variable. Prefer the environment for secrets: flags are visible \
         in the process list, and `--help` never prints a secret variable's value. Booleans accept \
         `true/false`, `1/0`, `yes/no`, `y/n`, `on/off` and `t/f` (any case); a boolean flag given without a value \
         is true. A duration outside its range (given in its meaning) stops the \
         start with an error naming the variable. The variable names are those of ONLYOFFICE's own server, and \
         OpenTelemetry's standard ones for the span export (`OTEL_EXPORTER_OTLP_*`).\n\n\
         **Switching from ONLYOFFICE's server.** Its configuration works unchanged. An empty variable (as `.env` \
         files and compose templates leave them) is read as that server reads it: a boolean as false; a port, \
         `DOCSPACE_PROXY_HOPS`, a rate limit or a CORS cache time as 0; the allowed hostnames, CORS origins and \
         header prefix as empty (off); anything else as unset, so its default applies. A rate limit is off with a \
         capacity or a window of 0. Its `DOCSPACE_FILE_OPERATION_TIMEOUT` (milliseconds) is read when \
         `DOCSPACE_OPERATION_TIMEOUT` is not set. A `DOCSPACE_*` variable this server does not read is named in a \
         warning at start-up, with the closest setting, or for that server's own `DOCSPACE_SESSION_TTL`, \
         `DOCSPACE_SESSION_INTERVAL`, `DOCSPACE_INTERNAL` and `DOCSPACE_OAUTH_*_ALGORITHM`, what to use instead.\n",
    );
    if let Some(serve) = cli.find_subcommand("serve") {
        section(&mut out, serve, "Server", &[]);
    }
    if let Some(sandbox) = cli.find_subcommand("sandbox") {
        let serve_args: Vec<&str> = cli
            .find_subcommand("serve")
            .map(|s| s.get_arguments().map(|a| a.get_id().as_str()).collect())
            .unwrap_or_default();
        out.push_str(
            "\n## `docspace-mcp sandbox`\n\nThe sandbox command takes the settings above (its portal address and \
             credentials are the sandbox's own) and these:\n",
        );
        section(&mut out, sandbox, "", &serve_args);
    }
    out
}

/// The arguments of `command` (less `skip`), a table per help heading.
fn section(out: &mut String, command: &clap::Command, first: &str, skip: &[&str]) {
    let mut headings: Vec<Option<&str>> = Vec::new();
    let args: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some() && !matches!(a.get_id().as_str(), "help" | "version"))
        .filter(|a| !skip.contains(&a.get_id().as_str()))
        .collect();
    for a in &args {
        if !headings.contains(&a.get_help_heading()) {
            headings.push(a.get_help_heading());
        }
    }
    for heading in headings {
        match heading.or(Some(first).filter(|f| !f.is_empty())) {
            Some(title) => out.push_str(&format!("\n### {title}\n\n")),
            None => out.push('\n'),
        }
        out.push_str("| flag | environment variable | default | meaning |\n|---|---|---|---|\n");
        for a in args.iter().filter(|a| a.get_help_heading() == heading) {
            let value = a.get_value_names().and_then(|v| v.first()).map(|v| format!(" <{v}>")).unwrap_or_default();
            let env = a.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_else(|| "–".into());
            let defaults: Vec<String> =
                a.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
            let default = if defaults.is_empty() { "–".to_owned() } else { format!("`{}`", defaults.join(",")) };
            let help = a.get_long_help().or_else(|| a.get_help()).map(ToString::to_string).unwrap_or_default();
            let help = help.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|");
            let long = a.get_long().unwrap_or_default();
            out.push_str(&format!("| `--{long}{value}` | {env} | {default} | {help} |\n"));
        }
    }
}
