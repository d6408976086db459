"""Fake upstream servers that only tests and benchmarks use (the demo's WebUntis v3 fake lives in
`signage.demo`, which the product serves)."""
