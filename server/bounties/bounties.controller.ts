import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { IdPipe } from '../input.js';
import { BountiesService } from './bounties.service.js';

@Controller('bounties')
export class BountiesController {
  constructor(@Inject(BountiesService) private readonly bounties: BountiesService) {}

  /** Registers a bounty created and funded on chain (checked against the chain). */
  @Post()
  @HttpCode(201)
  register(@Body() body: unknown) {
    return this.bounties.register(body);
  }

  @Get()
  list() {
    return this.bounties.list();
  }

  @Get(':id')
  async show(@Param('id', IdPipe) id: number) {
    return this.bounties.summary(await this.bounties.get(id));
  }

  /**
   * The bounty's spec as registered: keccak256 of its canonical JSON is the chain's modelSpecHash,
   * and agents check every round's group and quantisation parameters against it.
   */
  @Get(':id/spec')
  async spec(@Param('id', IdPipe) id: number) {
    return (await this.bounties.get(id)).spec;
  }

  /** Rounds with their groups, utilities, Shapley values, rewards and chain receipts. */
  @Get(':id/rounds')
  rounds(@Param('id', IdPipe) id: number) {
    return this.bounties.rounds(id);
  }

  @Get(':id/contributors')
  contributors(@Param('id', IdPipe) id: number) {
    return this.bounties.contributors(id);
  }
}
