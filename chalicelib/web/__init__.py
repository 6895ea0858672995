"""The payer's mobile pages (HTML, JS, CSS), served by the app itself."""
