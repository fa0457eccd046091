"""visitlog: 四百大走访 household visits, recorded offline and summed up per 微网格."""

__version__ = "0.3.0"
