use super::*;

fn scopes(grants: &[&str]) -> Scopes {
    grants.iter().copied().collect()
}

fn tool<'a>(backend: &'a str, prefix: &'a str, exposed: &'a str) -> BackendItem<'a> {
    BackendItem { kind: ItemKind::Tool, backend, prefix, exposed }
}

fn prompt<'a>(backend: &'a str, prefix: &'a str, exposed: &'a str) -> BackendItem<'a> {
    BackendItem { kind: ItemKind::Prompt, backend, prefix, exposed }
}

fn resource(backend: &str) -> BackendItem<'_> {
    BackendItem { kind: ItemKind::Resource, backend, prefix: "", exposed: "" }
}

#[test]
fn star_and_mcp_star_grant_everything() {
    for grant in ["*", "mcp:*"] {
        let s = scopes(&[grant]);
        assert!(s.may_reach(&tool("demo", "demo_", "demo_add")), "{grant}");
        assert!(s.may_reach(&prompt("demo", "demo_", "demo_greet")), "{grant}");
        assert!(s.may_reach(&resource("demo")), "{grant}");
        assert!(s.may_call_gateway_tool("search"), "{grant}");
        assert!(s.allows(CODE_EXECUTE), "{grant}");
        assert!(s.may_reach_backend("demo", "demo_"), "{grant}");
    }
}

#[test]
fn tool_grants_reach_no_resource_and_no_prompt() {
    for grant in ["tool:demo_add", "tool:demo_*", "tool:*", "tool:call"] {
        let s = scopes(&[grant]);
        assert!(s.may_reach(&tool("demo", "demo_", "demo_add")), "{grant}");
        assert!(!s.may_reach(&prompt("demo", "demo_", "demo_greet")), "{grant}");
        assert!(!s.may_reach(&resource("demo")), "{grant}");
        assert!(!s.allows(CODE_EXECUTE) && !s.may_call_gateway_tool("search"), "{grant}");
    }
}

#[test]
fn a_backend_grant_covers_every_item_of_that_backend_only() {
    let s = scopes(&["backend:demo"]);
    assert!(s.may_reach(&tool("demo", "demo_", "demo_add")));
    assert!(s.may_reach(&prompt("demo", "demo_", "demo_greet")));
    assert!(s.may_reach(&resource("demo")));
    assert!(s.may_reach_backend("demo", "demo_"));
    assert!(!s.may_reach(&tool("everything", "everything_", "everything_echo")));
    assert!(!s.may_reach(&resource("everything")));
    assert!(!s.may_reach_backend("demo2", "demo2_"));
    let all = scopes(&["backend:*"]);
    assert!(all.may_reach(&resource("anything")) && !all.allows(CODE_EXECUTE));
}

#[test]
fn a_prefix_wildcard_goes_by_backend_not_by_the_text_of_the_name() {
    let s = scopes(&["tool:demo_*"]);
    assert!(s.may_reach(&tool("demo", "demo_", "demo_echo")));
    // Renamed after a collision, but owned by the unprefixed backend `collide`: not demo's.
    assert!(!s.may_reach(&tool("collide", "", "demo_echo-1a2b3c4d")));
    // A backend whose prefix merely starts like demo's.
    assert!(!s.may_reach(&tool("demo2", "demo2_", "demo2_add")));
    // A backend with prefix `demo_x` whose names read `demo_x_…`.
    assert!(!s.may_reach(&tool("other", "demo_x_", "demo_x_add")));
}

#[test]
fn other_wildcard_shapes_in_item_namespaces_grant_nothing() {
    for grant in ["tool:demo*", "tool:demo_e*", "tool:de*", "prompt:demo*", "resource:dem*", "backend:dem*"] {
        let s = scopes(&[grant]);
        assert!(!s.may_reach(&tool("demo", "demo_", "demo_echo")), "{grant}");
        assert!(!s.may_reach(&prompt("demo", "demo_", "demo_echo")), "{grant}");
        assert!(!s.may_reach(&resource("demo")), "{grant}");
        assert!(!s.may_reach_backend("demo", "demo_"), "{grant}");
    }
}

#[test]
fn unprefixed_backends_need_exact_names_or_a_backend_grant() {
    let item = tool("collide", "", "collide_only");
    assert!(!scopes(&["tool:_*"]).may_reach(&item));
    assert!(!scopes(&["tool:collide_*"]).may_reach(&item));
    assert!(scopes(&["tool:collide_only"]).may_reach(&item));
    assert!(scopes(&["backend:collide"]).may_reach(&item));
    assert!(scopes(&["tool:*"]).may_reach(&item) && scopes(&["tool:*"]).may_reach_backend("collide", ""));
}

#[test]
fn prompt_and_resource_scopes_stay_in_their_kind() {
    let s = scopes(&["prompt:demo_*", "resource:demo"]);
    assert!(s.may_reach(&prompt("demo", "demo_", "demo_greet")));
    assert!(!s.may_reach(&tool("demo", "demo_", "demo_greet")));
    assert!(s.may_reach(&resource("demo")));
    assert!(!s.may_reach(&resource("everything")));
    assert!(scopes(&["prompt:demo_greet"]).may_reach(&prompt("demo", "demo_", "demo_greet")));
    assert!(!scopes(&["prompt:call"]).may_reach(&prompt("demo", "demo_", "demo_greet")));
}

#[test]
fn exact_grant_allows_only_that_name() {
    let s = scopes(&["tool:demo_add"]);
    assert!(s.may_reach(&tool("demo", "demo_", "demo_add")));
    for other in ["demo_add2", "demo_ad", "DEMO_ADD"] {
        assert!(!s.may_reach(&tool("demo", "demo_", other)), "{other}");
    }
    assert_eq!(s.item_names().collect::<Vec<_>>(), ["demo_add"]);
    assert!(!s.may_reach_backend("demo", "demo_"), "an exact name is not a backend-wide grant");
}

#[test]
fn gateway_namespace_keeps_its_call_grant_and_wildcards() {
    let s = scopes(&["gateway:call"]);
    assert!(s.may_call_gateway_tool("search"));
    assert!(!s.may_reach(&tool("demo", "demo_", "demo_add")));
    assert!(scopes(&["gateway:*"]).allows("gateway:health"));
    assert!(!scopes(&["tool:*"]).allows("gateway:health"));
    assert!(!s.allows("gateway:health"), "calling gateway tools is not reading the health view");
}

#[test]
fn item_scopes_are_never_granted_through_allows() {
    let s = scopes(&["*"]);
    assert!(!s.allows("tool:demo_add"), "backend items are decided by may_reach");
}

#[test]
fn wildcard_without_namespace_is_literal() {
    let s = scopes(&["to*", "tool", "code"]);
    assert!(!s.may_reach(&tool("demo", "demo_", "demo_add")));
    assert!(!s.allows(CODE_EXECUTE));
}

#[test]
fn malformed_requirements_are_never_satisfied() {
    let s = scopes(&["*"]);
    for required in ["", "tool", "code:", ":x"] {
        assert!(!s.allows(required), "{required:?}");
    }
}

#[test]
fn no_scopes_allow_nothing() {
    assert!(!Scopes::none().may_reach(&tool("demo", "demo_", "demo_add")));
    assert!(!Scopes::none().allows(CODE_EXECUTE));
    assert!(!Scopes::none().may_reach_backend("demo", "demo_"));
}

#[test]
fn space_separated_scope_claim_is_split() {
    let s = Scopes::from_space_separated(" tool:a  code:execute\tgateway:call ");
    assert_eq!(s.iter().collect::<Vec<_>>(), ["code:execute", "gateway:call", "tool:a"]);
}

#[test]
fn only_star_and_the_exact_scope_grant_admin() {
    for grant in ["*", GATEWAY_ADMIN] {
        assert!(Scopes::from_iter([grant]).allows(GATEWAY_ADMIN), "{grant}");
    }
    for grant in
        ["mcp:*", "gateway:*", "gateway:call", "gateway:a*", "gateway:admin*", "tool:call", "backend:*", "admin"]
    {
        assert!(!Scopes::from_iter([grant]).allows(GATEWAY_ADMIN), "{grant}");
    }
    // And holding it grants nothing else.
    let admin = Scopes::from_iter([GATEWAY_ADMIN]);
    assert!(!admin.allows(CODE_EXECUTE) && !admin.may_call_gateway_tool("search_tools"));
}
