import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { WatchGateway } from './watch.gateway.js';

/**
 * The web app's side of the server: the public `/watch` namespace (and DiscoveryModule, from which
 * `serveWeb` reads the REST prefixes). The static files and the OpenAPI docs are mounted on the HTTP
 * app in app.ts (`serveWeb`, `mountDocs`).
 */
@Module({})
export class WebModule {
  static forRoot(ds: DataSource): DynamicModule {
    return {
      module: WebModule,
      imports: [DiscoveryModule],
      providers: [{ provide: DataSource, useValue: ds }, WatchGateway],
    };
  }
}
