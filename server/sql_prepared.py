"""Statements of server/db.py's hot paths, compiled once per database dialect and run cheaply.

SQLAlchemy's per-call execution machinery (compiled-cache lookup, execution context, result
metadata, events) costs about 0.1 ms a statement: more than SQLite takes to run one of these
point reads and inserts, and a quota reservation runs five. On SQLite, which runs in this process,
`Prepared` hands the SQL SQLAlchemy compiled, with the values converted by SQLAlchemy's own bind
processors, straight to the transaction's DB-API cursor, and converts the result columns with
SQLAlchemy's result processors, so rows and errors are exactly what `conn.execute` would give.
Over a network (MySQL, MariaDB, PostgreSQL) the round trip dominates and SQLAlchemy's handling of
dropped connections matters, so those dialects keep `conn.execute`.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


class _Form:
    """One statement compiled for one dialect: SQL text, parameter order and value converters."""

    def __init__(self, statement, dialect, columns):
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        self.sql = compiled.string
        # Literal values the statement carries (e.g. a multipart state); the rest come with each call.
        self.defaults = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        # Positional drivers (sqlite3) take a list in this order; the others (PyMySQL, psycopg) a dict.
        self.positional = compiled.positional
        self.order = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        self.escaped = compiled.escaped_bind_names or {}
        processors = compiled._bind_processors
        self.bind = {name: processors[name] for name in self.order if name in processors}
        self.keys = [entry[0] for entry in compiled._result_columns]
        self.results = [entry[3]._cached_result_processor(dialect, None) for entry in compiled._result_columns]

    def arguments(self, params: dict):
        values = dict(self.defaults, **params)
        bind = self.bind
        converted = [bind[name](values[name]) if name in bind else values[name] for name in self.order]
        if self.positional:
            return converted
        return {self.escaped.get(name, name): value for name, value in zip(self.order, converted)}

    def row(self, raw: tuple) -> dict:
        return {key: (convert(value) if convert else value) for key, convert, value in zip(self.keys, self.results, raw)}


class Prepared:
    """`statement` (a Core select, insert, update or delete with bound parameters) run on a transaction's
    connection; rows come back as dicts by column key (labels for aggregates)."""

    def __init__(self, statement, columns: Optional[List[str]] = None):
        self.statement = statement
        self._columns = columns  # an insert's columns: the keys every call passes
        self._forms: Dict[object, _Form] = {}

    def all(self, conn: Connection, params: dict) -> List[dict]:
        if conn.dialect.name != "sqlite":
            return [dict(row) for row in conn.execute(self.statement, params).mappings()]
        form, cursor = self._run(conn, params)
        try:
            return [form.row(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, conn: Connection, params: dict) -> Optional[dict]:
        if conn.dialect.name != "sqlite":
            row = conn.execute(self.statement, params).mappings().first()
            return None if row is None else dict(row)
        form, cursor = self._run(conn, params)
        try:
            raw = cursor.fetchone()
            return None if raw is None else form.row(raw)
        finally:
            cursor.close()

    def write(self, conn: Connection, params: dict) -> int:
        """An insert's new primary key (single-column keys), else the number of rows changed."""
        if conn.dialect.name != "sqlite":
            result = conn.execute(self.statement, params)
            return result.inserted_primary_key[0] if self._columns is not None else result.rowcount
        _form, cursor = self._run(conn, params)
        try:
            return cursor.lastrowid if self._columns is not None else cursor.rowcount
        finally:
            cursor.close()

    def explain(self, conn: Connection, params: dict) -> List[dict]:
        """The database's plan for this statement with these values (EXPLAIN; SQLite: EXPLAIN QUERY PLAN)."""
        form = self._form(conn.dialect)
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        arguments = form.arguments(params)
        result = conn.exec_driver_sql(prefix + form.sql, tuple(arguments) if form.positional else arguments)
        return [dict(row) for row in result.mappings()]

    def _form(self, dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = _Form(self.statement, dialect, self._columns)
        return form

    def _run(self, conn: Connection, params: dict):
        dialect = conn.dialect
        form = self._form(dialect)
        arguments = form.arguments(params)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(form.sql, arguments)
        except dialect.loaded_dbapi.Error as error:
            cursor.close()
            # The same exception classes conn.execute raises (IntegrityError, OperationalError, ...).
            raise DBAPIError.instance(form.sql, arguments, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
        return form, cursor
