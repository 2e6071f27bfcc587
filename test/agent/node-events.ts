// The next event of a node that matches, for the node tests.
import type { PerunNode } from '../../src/agent/node/node.js';
import type { NodeEventWithId } from '../../src/agent/node/types.js';

export function next(n: PerunNode, match: (e: NodeEventWithId) => boolean): Promise<NodeEventWithId> {
  return new Promise((resolve) => {
    const stop = n.subscribe((e) => {
      if (match(e)) {
        stop();
        resolve(e);
      }
    });
  });
}
