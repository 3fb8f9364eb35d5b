import { useQuery } from '@tanstack/react-query';
import { getSession, type Session } from './api';

export type Role = Session['role'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function useSession() {
  return useQuery({ queryKey: ['session'], queryFn: getSession, staleTime: 60_000 });
}

/** Whether the signed-in key may take an action needing `role`: the UI hides what the server would refuse. */
export function useCan(role: Role): boolean {
  const { data } = useSession();
  return !!data && RANK[data.role] >= RANK[role];
}
