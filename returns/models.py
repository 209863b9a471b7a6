"""Return requests (RMAs), their lines and refunds. Built out by the returns workflow."""
