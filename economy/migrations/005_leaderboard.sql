-- Leaderboards: Redis sorted sets kept from PostgreSQL through an outbox.
-- A trigger queues a user whenever their wallet or bank changes or they
-- find a new collectible; the board processor (one at a time, under an
-- advisory lock) reads the users' current values and writes them to Redis,
-- then deletes the rows. The sets can be rebuilt from these tables.

-- Players seen using the bot in a server: a server's boards hold them.
CREATE TABLE economy.players_seen (
    guild_id bigint NOT NULL CHECK (guild_id > 0),
    user_id  bigint NOT NULL CHECK (user_id > 0),
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX players_seen_by_user ON economy.players_seen (user_id);

-- The name a player was last seen with, so boards show names, not IDs.
CREATE TABLE economy.player_names (
    user_id    bigint PRIMARY KEY CHECK (user_id > 0),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE economy.board_outbox (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL
);

CREATE FUNCTION economy.board_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.board_outbox (user_id) VALUES (NEW.user_id);
    RETURN NULL;
END $$;

CREATE TRIGGER accounts_board_insert AFTER INSERT ON economy.accounts
    FOR EACH ROW EXECUTE FUNCTION economy.board_queue();
CREATE TRIGGER accounts_board_update AFTER UPDATE OF wallet, bank ON economy.accounts
    FOR EACH ROW WHEN (OLD.wallet IS DISTINCT FROM NEW.wallet OR OLD.bank IS DISTINCT FROM NEW.bank)
    EXECUTE FUNCTION economy.board_queue();
CREATE TRIGGER collection_board_insert AFTER INSERT ON economy.collection
    FOR EACH ROW EXECUTE FUNCTION economy.board_queue();
-- Names are copied to Redis too, so that a page is read from Redis alone.
CREATE TRIGGER player_names_board AFTER INSERT OR UPDATE OF name ON economy.player_names
    FOR EACH ROW EXECUTE FUNCTION economy.board_queue();
