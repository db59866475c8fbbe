import type { ConnectorFactory } from '../../src/core/component.js';
import { routingConnectorConfig, type RoutingConnectorConfig } from './config.js';
import { RoutingConnector } from './routing-connector.js';
import { metadata } from './metadata.js';

export const routingConnectorFactory: ConnectorFactory<RoutingConnectorConfig> = {
  kind: 'connector',
  ...metadata,
  config: routingConnectorConfig,
  supports: (from, to) => from === to,
  checkGraph: (config, place) => {
    // Every pipeline the table names for this signal must receive from the connector (as the collector checks).
    const named = [...config.table.flatMap((r) => r.pipelines), ...config.default_pipelines];
    const missing = [...new Set(named.filter((p) => p.split('/')[0] === place.to && !place.pipelines.includes(p)))];
    if (missing.length > 0)
      return `routes to ${missing.join(', ')}, which ${missing.length === 1 ? 'does' : 'do'} not list this connector among its receivers (pipelines that do: ${place.pipelines.join(', ')})`;
    return undefined;
  },
  create: (settings, config, place, next) => new RoutingConnector(settings, config, place, next),
};
