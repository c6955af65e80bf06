// Physical names of the resources the runtime or other resources refer to by name before they exist
// (see stacks/skyless-stack.ts on reference cycles). One deployment per account and region uses them.

/** Names of resources that the runtime refers to by name. */
export function resourceNames(deployment: string) {
  return {
    stateMachine: `skyless-${deployment}-job`,
    schedulerFunction: `skyless-${deployment}-scheduler`,
    // The default deployment's bus is plainly `skyless` (integration events' documented bus).
    eventBus: deployment === 'skyless' ? 'skyless' : `skyless-${deployment}`,
    api: `skyless-${deployment}`,
  };
}
