import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Services started by tests listen for HTTP on a free port, never the default one (several
# test runs and a developer's own service share the machine).
os.environ.setdefault("MCP_HTTP_PORT", "0")
