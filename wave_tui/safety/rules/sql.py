"""Rules for SQL: the sql tool's queries and SQL that commands hand to a database.

No SQL parser: a small scanner (`sql_scan`) drops comments, masks string literals, splits
statements on `;` and upper-cases the rest, which is enough to see what each statement does
(`sql_judge`). Commands are read only when a real database client (or an interpreter's inline
code) would run the SQL (`sql_clients`), so `grep "DROP TABLE" migrations/` stays quiet. This
module is the face the rule registry and the other rule modules use.
"""

from __future__ import annotations

from wave_tui.safety.rules.sql_clients import check_command, orm_empties_tables
from wave_tui.safety.rules.sql_judge import RULES, check_sql
from wave_tui.safety.rules.sql_scan import Statement, split_statements

__all__ = [
    "RULES",
    "Statement",
    "check_command",
    "check_sql",
    "orm_empties_tables",
    "split_statements",
]
