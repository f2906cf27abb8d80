import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Offenders of a group: members whose unmask shares were off their secret's polynomial (outvoted
 * by t good ones, see aggregation/secagg/shamir.ts robustCombine), kept with the group so that the
 * round record and the listing can hold it against them.
 */
export class Offenders1765000000000 implements MigrationInterface {
  name = 'Offenders1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE round_group ADD COLUMN offenders jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE round_group DROP COLUMN offenders`);
  }
}
