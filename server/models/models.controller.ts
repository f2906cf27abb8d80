import { Controller, Get, Inject, Param, ParseIntPipe, Res } from '@nestjs/common';
import { ModelsService } from './models.service.js';

interface Res {
  setHeader(k: string, v: string): void;
  send(b: Buffer): void;
}

@Controller('models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  @Get(':bountyId')
  versions(@Param('bountyId', ParseIntPipe) bountyId: number) {
    return this.models.list(bountyId);
  }

  @Get(':bountyId/versions/:version/model.json')
  async modelJson(
    @Param('bountyId', ParseIntPipe) bountyId: number,
    @Param('version', ParseIntPipe) version: number,
    @Res() res: Res,
  ) {
    const row = await this.models.get(bountyId, version);
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-model-hash', row.hash);
    res.send(row.modelJson);
  }

  @Get(':bountyId/versions/:version/weights.bin')
  async weights(
    @Param('bountyId', ParseIntPipe) bountyId: number,
    @Param('version', ParseIntPipe) version: number,
    @Res() res: Res,
  ) {
    const row = await this.models.get(bountyId, version);
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('x-model-hash', row.hash);
    res.send(row.weights);
  }
}
