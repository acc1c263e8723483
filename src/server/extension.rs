//! What an embedder adds to the server: tools, resources, resource
//! templates and prompts of its own, served beside DocSpace's by the same
//! handler, on every transport. The `docspace-mcp` binary adds nothing; the
//! conformance test server (the `docspace-mcp-conformance` crate) adds the
//! MCP conformance suite's fixtures through it.
//!
//! An extension answers the requests for what it lists and leaves the rest
//! to the server: `None` from a method means "not mine".

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, GetPromptRequestParams,
    GetPromptResponse, Prompt, ReadResourceRequestParams, ReadResourceResponse, Resource, ResourceTemplate,
    ServerCapabilities, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

/// The answer to one request, when it is the extension's to give.
pub type Answer<'a, T> = Option<BoxFuture<'a, Result<T, ErrorData>>>;

/// Tools, resources and prompts served beside the server's own. Every
/// method has a default that adds nothing.
pub trait Extension: Send + Sync + 'static {
    /// Declares what the extension serves (resources, prompts, completions,
    /// subscriptions) in the server's capabilities.
    fn capabilities(&self, _capabilities: &mut ServerCapabilities) {}

    /// Tools listed after the server's own.
    fn tools(&self) -> Vec<Tool> {
        Vec::new()
    }

    /// A call of one of [`Extension::tools`].
    fn call_tool<'a>(
        &'a self,
        _request: CallToolRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, CallToolResponse> {
        None
    }

    /// Resources for `resources/list`.
    fn resources(&self) -> Vec<Resource> {
        Vec::new()
    }

    /// Templates for `resources/templates/list`.
    fn resource_templates(&self) -> Vec<ResourceTemplate> {
        Vec::new()
    }

    /// `resources/read` of a URI the extension serves.
    fn read_resource<'a>(
        &'a self,
        _request: ReadResourceRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, ReadResourceResponse> {
        None
    }

    /// Prompts for `prompts/list`.
    fn prompts(&self) -> Vec<Prompt> {
        Vec::new()
    }

    /// `prompts/get` of one of [`Extension::prompts`].
    fn get_prompt<'a>(
        &'a self,
        _request: GetPromptRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, GetPromptResponse> {
        None
    }

    /// `completion/complete` for one of its prompts or templates.
    fn complete<'a>(
        &'a self,
        _request: CompleteRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, CompleteResult> {
        None
    }

    /// `resources/subscribe` of a URI the extension serves.
    fn subscribe<'a>(
        &'a self,
        _request: SubscribeRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, ()> {
        None
    }

    /// `resources/unsubscribe` of a URI the extension serves.
    fn unsubscribe<'a>(
        &'a self,
        _request: UnsubscribeRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, ()> {
        None
    }
}

impl std::fmt::Debug for dyn Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Extension")
    }
}
