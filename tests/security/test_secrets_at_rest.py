"""Tokens and passwords exist in the database only as hashes, whichever way they were made."""

from __future__ import annotations

import json

from sqlalchemy import text


def _all_cells(app) -> str:
    """Every value of every row of every table, as one text to search."""
    from app.extensions import db

    cells = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f'SELECT * FROM "{table.name}"')):
                cells.extend(str(value) for value in row)
        db.session.remove()
    return "\n".join(cells)


def test_cli_and_domain_store_only_hashes(app, cli):
    from app.domain import accounts
    from app.extensions import db

    def aeontel(*args):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    ws = aeontel("workspace", "create", "Secrets", "--json")["workspaceId"]
    cli_password = "a very private passphrase 1"
    aeontel(
        "user", "create", "cli@example.com", "--workspace", ws, "--role", "owner", "--password", cli_password, "--json"
    )
    generated = aeontel("user", "create", "gen@example.com", "--workspace", ws, "--role", "viewer", "--json")[
        "password"
    ]
    cli_tokens = [
        aeontel("token", "create", "--workspace", ws, "--scope", scope, "--json")["token"]
        for scope in ("read", "write")
    ]
    with app.app_context():
        domain_password = "another private passphrase 2"
        accounts.create_user("domain@example.com", domain_password, ws, "editor")
        _, domain_token = accounts.create_token(ws, "write", "ci")
        db.session.commit()

    everything = _all_cells(app)
    for secret in (cli_password, generated, domain_password, *cli_tokens, domain_token):
        assert secret not in everything, "a secret is stored in clear"
        assert secret[4:20] not in everything, "part of a secret is stored in clear"

    with app.app_context():
        for user in db.session.query(accounts.User):
            assert user.password_hash.startswith(("scrypt:", "pbkdf2:")), user.password_hash[:12]
        for token, secret in zip(
            db.session.query(accounts.ApiToken).order_by(accounts.ApiToken.created_at), [*cli_tokens, domain_token]
        ):
            assert len(token.token_hash) == 64 and token.token_hash == accounts.hash_token(secret)
        # And they still work: the hashes are what authentication compares.
        assert accounts.authenticate_user("cli@example.com", cli_password) is not None
        assert accounts.authenticate_user("cli@example.com", cli_password + "x") is None
        assert all(accounts.authenticate_token(secret) is not None for secret in [*cli_tokens, domain_token])
        db.session.remove()
