import { Controller, Get, Headers, Inject, Param, Res } from '@nestjs/common';
import { IdPipe } from '../input.js';
import { ChainService } from '../chain/chain.service.js';
import { LicenceChecker } from './licence.js';
import { ModelsService } from './models.service.js';

interface Res {
  setHeader(k: string, v: string): void;
  send(b: Buffer): void;
}

/**
 * Model downloads in the tfjs Layers format: `model.json` + `weights.bin`, each with the version's
 * on-chain hash in `x-model-hash`. Non-open models need a signed request (see licence.ts).
 */
@Controller('models')
export class ModelsController {
  private readonly licences: LicenceChecker;

  constructor(
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(ChainService) chain: ChainService,
  ) {
    this.licences = new LicenceChecker(chain);
  }

  @Get(':bountyId')
  versions(@Param('bountyId', IdPipe) bountyId: number) {
    return this.models.list(bountyId);
  }

  @Get(':bountyId/versions/:version/model.json')
  async modelJson(
    @Param('bountyId', IdPipe) bountyId: number,
    @Param('version', IdPipe) version: number,
    @Headers() headers: Record<string, string>,
    @Res() res: Res,
  ) {
    await this.serve(bountyId, version, headers, res, 'modelJson', 'application/json');
  }

  @Get(':bountyId/versions/:version/weights.bin')
  async weights(
    @Param('bountyId', IdPipe) bountyId: number,
    @Param('version', IdPipe) version: number,
    @Headers() headers: Record<string, string>,
    @Res() res: Res,
  ) {
    await this.serve(bountyId, version, headers, res, 'weights', 'application/octet-stream');
  }

  /**
   * The group aggregates of the round that produced `version` (each a sample-weighted mean update,
   * float32 little-endian, base64), released with the version to whoever may download it: the
   * sponsor and licence holders, and participants while the bounty trains. Each hashes to the
   * sumHash the round record binds on chain; `tributary audit --replay` replays training from them.
   */
  @Get(':bountyId/versions/:version/aggregates')
  async aggregates(
    @Param('bountyId', IdPipe) bountyId: number,
    @Param('version', IdPipe) version: number,
    @Headers() headers: Record<string, string>,
  ) {
    const found = await this.models.aggregates(bountyId, version);
    await this.licences.check(bountyId, version, headers);
    return found;
  }

  /** One file of a version, after the licence check, with the version's on-chain hash. */
  private async serve(
    bountyId: number,
    version: number,
    headers: Record<string, string>,
    res: Res,
    part: 'modelJson' | 'weights',
    contentType: string,
  ): Promise<void> {
    const row = await this.models.get(bountyId, version);
    await this.licences.check(bountyId, version, headers);
    res.setHeader('content-type', contentType);
    res.setHeader('x-model-hash', row.hash);
    res.send(row[part]);
  }
}
