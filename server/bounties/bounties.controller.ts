import { Controller, Get, Inject, Param, ParseIntPipe } from '@nestjs/common';
import { BountiesService } from './bounties.service.js';

@Controller('bounties')
export class BountiesController {
  constructor(@Inject(BountiesService) private readonly bounties: BountiesService) {}

  @Get()
  list() {
    return this.bounties.list();
  }

  @Get(':id')
  async show(@Param('id', ParseIntPipe) id: number) {
    return this.bounties.summary(await this.bounties.get(id));
  }
}
