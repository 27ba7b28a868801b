"""The control room: the web page and its JSON API (``/api/v1/``), served by the service's HTTP
server (``mcp_optimizer.http``) through :func:`mcp_optimizer.web.routes.routes`."""
