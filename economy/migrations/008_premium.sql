-- Premium: the entitlements Discord reports (on interactions and in
-- ENTITLEMENT_* events), kept current so that every node decides perks
-- alike, and what a one-time purchase gave and whether the bot consumed it.

CREATE TABLE economy.entitlements (
    id          bigint PRIMARY KEY CHECK (id > 0),     -- Discord's entitlement ID
    sku_id      bigint NOT NULL CHECK (sku_id > 0),
    user_id     bigint,                                 -- NULL: a guild's entitlement
    guild_id    bigint,
    type        integer NOT NULL,
    starts_at   timestamptz,
    ends_at     timestamptz,
    deleted     boolean NOT NULL DEFAULT false,
    consumed    boolean,                                -- NULL: not a consumable
    updated_at  timestamptz NOT NULL,
    -- One-time purchases: when the grant was committed, and the consume
    -- call (claimed by exactly one node, done when Discord answered 204).
    granted_at          timestamptz,
    consume_claimed_at  timestamptz,
    consumed_at         timestamptz,
    CHECK (user_id IS NOT NULL OR guild_id IS NOT NULL)
);

CREATE INDEX entitlements_user ON economy.entitlements (user_id, sku_id) WHERE user_id IS NOT NULL;

-- Premium multiplies the bank capacity while it lasts, and nothing is
-- taken back when it ends, so a bank may hold more than its stored
-- capacity: bank_bonus is the most a premium deposit ever put above it,
-- and the bound stays a constraint.
ALTER TABLE economy.accounts ADD COLUMN bank_bonus bigint NOT NULL DEFAULT 0 CHECK (bank_bonus >= 0);
ALTER TABLE economy.accounts DROP CONSTRAINT bank_within_capacity;
ALTER TABLE economy.accounts ADD CONSTRAINT bank_within_capacity
    CHECK (bank::numeric <= bank_capacity::numeric + bank_bonus::numeric);
