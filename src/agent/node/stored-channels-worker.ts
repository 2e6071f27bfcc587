// A worker thread that reads the stored channels (./stored-channels.ts) while the main thread
// loads the node (./start.ts): it posts the listing once and ends.
import { parentPort, workerData } from 'node:worker_threads';
import { readStoredChannels } from './stored-channels.js';

const { file, ethHolders } = workerData as { file: string; ethHolders: string[] };
parentPort!.postMessage(readStoredChannels(file, new Set(ethHolders)));
