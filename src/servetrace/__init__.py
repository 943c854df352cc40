"""servetrace: trace analytics and workload generation for LLM and LMM serving."""

__version__ = "0.1.0"
