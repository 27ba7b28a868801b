"""Running as an Umbrel app: what Umbrel's environment means for the service (:mod:`.env`),
the image's health check (:mod:`.healthcheck`) and the home-screen widget (:mod:`.widget`).
See docs/umbrel.md."""
