"""postmortem-kb: ingest incident postmortems into a searchable, structured knowledge base.

Data flows one way: read -> sections -> nlp/extract -> taxonomy -> embed -> store;
search and the front ends (CLI, Streamlit app) only read the store.
"""

__version__ = "0.1.0"
