/** The default artifact store: files under a local directory, addressed by file:// URIs. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactRef } from '../contracts';
import { artifactName, prepareBody, type ArtifactStore, type ArtifactType } from './store';

export class LocalArtifactStore implements ArtifactStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(key: string, body: string | Buffer, type: ArtifactType): Promise<ArtifactRef> {
    const file = this.fileFor(key);
    const { bytes, sha256 } = prepareBody(body);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, bytes);
    return { name: artifactName(key), type, uri: pathToFileURL(file).href, sha256, size: bytes.length };
  }

  uriFor(key: string): string {
    return pathToFileURL(this.fileFor(key)).href;
  }

  async get(uri: string): Promise<Buffer> {
    if (!uri.startsWith('file:')) throw new Error(`the local artifact store reads file:// URIs, got ${uri}`);
    const file = fileURLToPath(uri);
    if (!file.startsWith(this.root + path.sep)) throw new Error(`${uri} is outside the artifact store at ${this.root}`);
    return fs.promises.readFile(file);
  }

  private fileFor(key: string): string {
    const file = path.resolve(this.root, key);
    if (!file.startsWith(this.root + path.sep)) throw new Error(`artifact key ${key} escapes the store`);
    return file;
  }
}
