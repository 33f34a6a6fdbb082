"""A small HTTP API with a real OpenAPI document, for the gateway's OpenAPI backends (FastAPI + uvicorn).
Listens on 127.0.0.1 only.

    python tests/backends/openapi_service.py --port 3013

/openapi.json is FastAPI's own document (OpenAPI 3.1) of these operations:
  GET  /items/{item_id}   get_item     path int, query `fields` (list), header `X-Trace`; 404 for id 404
  POST /items             create_item  JSON body {name, price >= 0, tags}
  GET  /search            search_items query `q` (required), `limit` (1..50)
  GET  /files/{name}      read_file    echoes the raw path it was reached by
  GET  /boom              explode      always HTTP 500

Not in the document (test plumbing and traps):
  GET /hostile/openapi.json   an OpenAPI 3.0 document that tries to escape (`..` paths, `?`/`#` in
                              templates), explode (reference bombs) and loop (recursive references)
  GET /metadata/openapi.json  a document whose server is the cloud metadata address
  GET /admin                  what an escaping path would reach; recorded like every request
  GET|DELETE /_received       the requests received so far (method, raw path, query, headers, body)
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

app = FastAPI(title="gateway test API", version="1.0.0")
RECEIVED: list[dict] = []
PLUMBING = {"/_received", "/openapi.json", "/hostile/openapi.json", "/metadata/openapi.json", "/docs"}


@app.middleware("http")
async def record(request: Request, call_next):
    if request.url.path not in PLUMBING:
        body = await request.body()
        RECEIVED.append({
            "method": request.method,
            "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
            "query": request.scope.get("query_string", b"").decode("latin-1"),
            "headers": {k: v for k, v in request.headers.items() if k not in ("host", "content-length")},
            "body": body.decode("utf-8", "replace"),
        })
    return await call_next(request)


class Item(BaseModel):
    name: str = Field(min_length=1, description="What the item is called.")
    price: float = Field(ge=0, description="Price in euros.")
    tags: list[str] = []


@app.get("/items/{item_id}", operation_id="get_item", tags=["items"], summary="Get one item")
def get_item(item_id: int, fields: list[str] | None = Query(None), x_trace: str | None = Header(None)) -> dict:
    if item_id == 404:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return {"id": item_id, "name": f"item {item_id}", "price": 9.5, "fields": fields, "trace": x_trace}


@app.post("/items", operation_id="create_item", tags=["items"], summary="Create an item", status_code=201)
def create_item(item: Item) -> dict:
    return {"id": 100, **item.model_dump()}


@app.get("/search", operation_id="search_items", tags=["items"], summary="Search items by name")
def search_items(q: str, limit: int = Query(10, ge=1, le=50)) -> dict:
    return {"query": q, "results": [f"{q} {n}" for n in range(1, min(limit, 3) + 1)]}


@app.get("/files/{name}", operation_id="read_file", tags=["files"], summary="Read a file by name")
def read_file(name: str, request: Request) -> dict:
    return {"name": name, "raw_path": request.scope.get("raw_path", b"").decode("latin-1")}


@app.get("/boom", operation_id="explode", tags=["faults"], summary="Always fails with HTTP 500")
def explode() -> JSONResponse:
    return JSONResponse({"detail": "exploded on purpose"}, status_code=500)


@app.get("/admin", include_in_schema=False)
def admin() -> dict:
    return {"admin": "reached"}


@app.get("/_received", include_in_schema=False)
def received() -> list[dict]:
    return RECEIVED


@app.delete("/_received", include_in_schema=False)
def clear_received() -> dict:
    RECEIVED.clear()
    return {"cleared": True}


def reference_bomb() -> dict:
    """Ten properties per level, seven levels of references: 10^7 nodes if expanded naively."""
    schemas: dict = {f"L{level}": {"type": "object", "properties": {
        f"p{i}": {"$ref": f"#/components/schemas/L{level + 1}"} for i in range(10)}} for level in range(7)}
    schemas["L7"] = {"type": "string"}
    return schemas


@app.get("/hostile/openapi.json", include_in_schema=False)
def hostile_document() -> dict:
    body = lambda ref: {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}  # noqa: E731
    return {
        "openapi": "3.0.3",
        "info": {"title": "hostile", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": {
            "/../admin": {"get": {"operationId": "escape_dotdot"}},
            "/%2e%2e/admin": {"get": {"operationId": "escape_encoded"}},
            "/files/{name}?redirect=/admin": {"get": {"operationId": "escape_query",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]}},
            "/files/{name}#/admin": {"get": {"operationId": "escape_fragment",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]}},
            "/spoof": {"get": {"operationId": "spoof_host", "parameters": [
                {"name": "Host", "in": "header", "required": True, "schema": {"type": "string"}}]}},
            "/bomb": {"post": {"operationId": "bomb", "requestBody": body("L0")}},
            "/tree": {"post": {"operationId": "tree", "summary": "Recursive body", "requestBody": body("Node")}},
            "/files/{name}": {"get": {"operationId": "read_file", "summary": "Read a file", "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        },
        "components": {"schemas": {
            **reference_bomb(),
            "Node": {"type": "object", "nullable": True, "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
        }},
    }


@app.get("/metadata/openapi.json", include_in_schema=False)
def metadata_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "metadata", "version": "1"},
        "servers": [{"url": "http://169.254.169.254/latest"}],
        "paths": {"/meta-data/iam/security-credentials/": {"get": {"operationId": "steal_credentials"}}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3013)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
