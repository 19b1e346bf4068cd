"""The example scorecard and sample accounts (the template, the demo, ``init --example``)."""
