/** Regatta's custom search attributes, declared once; the dev server, compose file and workflows all read this list. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CampaignIdKey = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const RepositoryKey = defineSearchAttributeKey('Repository', SearchAttributeType.KEYWORD);
export const RunStateKey = defineSearchAttributeKey('RunState', SearchAttributeType.KEYWORD);
export const OwnerKey = defineSearchAttributeKey('Owner', SearchAttributeType.KEYWORD);
export const TaskTypeKey = defineSearchAttributeKey('TaskType', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [CampaignIdKey, RepositoryKey, RunStateKey, OwnerKey, TaskTypeKey] as const;

/** The CLI's spelling of a search attribute type (`temporal server start-dev --search-attribute Name=Type`). */
export function cliSearchAttributeArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
