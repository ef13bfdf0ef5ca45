"""``python -m renderers OUT_DIR``: render every sample form to .docx, .pdf and .png pages."""

from renderers.preview import main

raise SystemExit(main())
