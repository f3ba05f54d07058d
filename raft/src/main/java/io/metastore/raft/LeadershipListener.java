package io.metastore.raft;

/**
 * Leadership changes of the Raft group as this member sees them. Called on a dedicated event thread of the
 * {@link RaftNode}, in the order Ratis reported the changes; an implementation should return quickly.
 */
@FunctionalInterface
public interface LeadershipListener {

    /**
     * @param leaderName    the new leader's member name, or null when there is none (this member stepped down, or as a
     *                      follower stopped hearing from its leader and campaigns, and no
     *                      successor is known yet)
     * @param term          the Raft term this member was in when the change was reported
     * @param localIsLeader true when this member is the new leader
     */
    void onLeaderChanged(String leaderName, long term, boolean localIsLeader);
}
