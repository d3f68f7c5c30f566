/** Repository files read as data from git objects: a shallow clone with nothing checked out, blobs read by commit. */
import fs from 'node:fs';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { gitAuthFor } from './credentials';

/** Clones `ref` into `dir` without a working tree; returns the commit it names. */
export async function cloneObjectsOnly(dir: string, url: string, ref: string): Promise<string> {
  await git.clone({
    fs,
    http,
    dir,
    url,
    ref,
    singleBranch: true,
    depth: 1,
    noCheckout: true,
    noTags: true,
    onAuth: gitAuthFor(url),
  });
  return git.resolveRef({ fs, dir, ref: 'HEAD' });
}

/** The bytes of `filepath` at `commit`; rejects when the commit has no such file. */
export async function readBlobAt(dir: string, commit: string, filepath: string): Promise<Uint8Array> {
  const { blob } = await git.readBlob({ fs, dir, oid: commit, filepath });
  return blob;
}
