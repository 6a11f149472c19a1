"""The one execution path: run a playbook on a warm kernel (`runner`), render its report (`render`) and file it in
the run store (`records`). Imports the notebook API, `sops`, `data` and the leaves; knows no playbook by name."""
