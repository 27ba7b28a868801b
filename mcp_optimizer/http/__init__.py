"""The service's HTTP side: one server (hypercorn, trio worker) running Starlette inside the
service's trio loop. ``app.py`` states the contract routes build on (``build_app(ctx)``);
``server.py`` binds and supervises; ``wiring.py`` connects both to a running service."""
