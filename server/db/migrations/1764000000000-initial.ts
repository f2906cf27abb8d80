import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Initial schema: bounties, rounds, groups, participants, stage messages, models, receipts. */
export class Initial1764000000000 implements MigrationInterface {
  name = 'Initial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bounty (
        id integer PRIMARY KEY,
        sponsor varchar(42) NOT NULL,
        spec jsonb NOT NULL,
        validation_hash varchar(66) NOT NULL,
        validation bytea NOT NULL,
        budget numeric(78,0) NOT NULL,
        rounds_total integer NOT NULL,
        status varchar(16) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE bounty_member (
        bounty_id integer NOT NULL REFERENCES bounty(id) ON DELETE CASCADE,
        address varchar(42) NOT NULL,
        joined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bounty_id, address)
      )`);
    await q.query(`
      CREATE TABLE round (
        id serial PRIMARY KEY,
        bounty_id integer NOT NULL REFERENCES bounty(id) ON DELETE CASCADE,
        number integer NOT NULL,
        ledger_round integer,
        state varchar(16) NOT NULL,
        abort_reason text,
        model_version integer NOT NULL,
        quant jsonb NOT NULL,
        stage_deadline timestamptz,
        timing jsonb NOT NULL DEFAULT '{}',
        scoring jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (bounty_id, number),
        UNIQUE (bounty_id, ledger_round)
      )`);
    await q.query(`
      CREATE TABLE round_group (
        id serial PRIMARY KEY,
        round_id integer NOT NULL REFERENCES round(id) ON DELETE CASCADE,
        index integer NOT NULL,
        members text[] NOT NULL,
        threshold integer NOT NULL,
        neighbours integer NOT NULL,
        state varchar(16) NOT NULL,
        drop_reason text,
        survivors text[] NOT NULL DEFAULT '{}',
        sum bytea,
        weight double precision NOT NULL DEFAULT 0,
        sum_hash varchar(66),
        UNIQUE (round_id, index)
      )`);
    await q.query(`
      CREATE TABLE participant (
        round_id integer NOT NULL REFERENCES round(id) ON DELETE CASCADE,
        address varchar(42) NOT NULL,
        group_id integer NOT NULL REFERENCES round_group(id) ON DELETE CASCADE,
        progress varchar(16) NOT NULL,
        samples double precision NOT NULL DEFAULT 0,
        score double precision,
        reward numeric(78,0),
        PRIMARY KEY (round_id, address)
      )`);
    await q.query(`CREATE INDEX participant_address ON participant (address)`);
    await q.query(`
      CREATE TABLE stage_message (
        id bigserial PRIMARY KEY,
        group_id integer NOT NULL REFERENCES round_group(id) ON DELETE CASCADE,
        stage varchar(16) NOT NULL,
        address varchar(42) NOT NULL,
        payload bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (group_id, stage, address)
      )`);
    await q.query(`
      CREATE TABLE model_version (
        id serial PRIMARY KEY,
        bounty_id integer NOT NULL REFERENCES bounty(id) ON DELETE CASCADE,
        version integer NOT NULL,
        hash varchar(66) NOT NULL,
        model_json bytea NOT NULL,
        weights bytea NOT NULL,
        optimizer_state bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (bounty_id, version)
      )`);
    await q.query(`
      CREATE TABLE chain_receipt (
        id serial PRIMARY KEY,
        bounty_id integer NOT NULL,
        round_number integer NOT NULL,
        kind varchar(32) NOT NULL,
        tx_hash varchar(66) NOT NULL,
        block_number integer,
        status varchar(16) NOT NULL,
        gas_used integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (bounty_id, round_number, kind)
      )`);
    await q.query(`
      CREATE TABLE auth_challenge (
        nonce varchar(66) PRIMARY KEY,
        address varchar(42) NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'auth_challenge',
      'chain_receipt',
      'model_version',
      'stage_message',
      'participant',
      'round_group',
      'round',
      'bounty_member',
      'bounty',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
