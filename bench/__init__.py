"""On-demand figures (`make bench`); each module has a smoke test in the suite."""


def print_table(figures: dict[str, float]) -> None:
    """Print figures as a Markdown table."""
    print("| figure | value |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value:.4g} |")
