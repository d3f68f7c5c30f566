/** Signals, queries and updates of Regatta's workflows: shared by workflows, client and CLI. */
import { defineQuery } from '@temporalio/workflow';
import type { CampaignProgress } from './campaign';
import type { RunSummary } from '../src/contracts';

export const runStatusQuery = defineQuery<RunSummary>('runStatus');
export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');
