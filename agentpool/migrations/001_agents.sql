-- The agent registry: extra bot accounts ("agents") that join voice channels.
-- Tokens are stored only encrypted (AES-256-GCM under AGENT_TOKEN_KEY).
CREATE TABLE agents (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot_user_id      bigint      NOT NULL UNIQUE,
    name             text        NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 64),
    token_ciphertext bytea       NOT NULL,
    token_nonce      bytea       NOT NULL CHECK (length(token_nonce) = 12),
    key_version      integer     NOT NULL CHECK (key_version > 0),
    enabled          boolean     NOT NULL DEFAULT true,
    added_at         timestamptz NOT NULL DEFAULT now()
);

-- One row: the current key version and a known value sealed under the key,
-- so a wrong AGENT_TOKEN_KEY is caught before it writes anything.
CREATE TABLE agent_token_key (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    version          integer     NOT NULL CHECK (version > 0),
    check_nonce      bytea       NOT NULL,
    check_ciphertext bytea       NOT NULL,
    rotated_at       timestamptz NOT NULL DEFAULT now()
);

---- create above / drop below ----

DROP TABLE agent_token_key;
DROP TABLE agents;
