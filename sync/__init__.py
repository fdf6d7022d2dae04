"""hr2bi: keeps a BI platform's accounts in step with who works at the company."""
