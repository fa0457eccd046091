"""``python -m bench [--scale street|district] [--repeat N] [--only NAME…]``."""

from bench.runner import main

if __name__ == "__main__":
    main()
