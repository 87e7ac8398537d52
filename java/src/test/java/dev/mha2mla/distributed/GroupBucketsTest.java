package dev.mha2mla.distributed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** How {@link Group} groups tensors into collectives: one per run of one element type under the size cap. */
class GroupBucketsTest {
  @Test
  void tensorsOfOneTypeUnderTheCapShareOneBucket() {
    try (PointerScope scope = new PointerScope()) {
      // 44 float tensors of 40 KB: what the shipped model's attention gradients look like, one all-reduce
      List<Tensor> grads = new java.util.ArrayList<>();
      for (int i = 0; i < 44; i++) grads.add(torch.zeros(100, 100));
      List<List<Tensor>> buckets = Group.buckets(grads, Group.BUCKET_BYTES);
      assertThat(buckets).hasSize(1);
      assertThat(buckets.get(0)).hasSize(44);
    }
  }

  @Test
  void aBucketClosesAtTheCapAndWhereTheTypeChanges() {
    try (PointerScope scope = new PointerScope()) {
      Tensor f400 = torch.zeros(100); // 400 bytes
      Tensor g400 = torch.zeros(100);
      Tensor h800 = torch.zeros(200);
      Tensor steps = torch.zeros(new long[] {1}, new org.bytedeco.pytorch.TensorOptions(org.bytedeco.pytorch.global.torch.ScalarType.Long));
      Tensor big = torch.zeros(1000); // 4000 bytes: over the cap, alone
      List<List<Tensor>> b = Group.buckets(List.of(f400, g400, h800, steps, big, f400), 1000);
      assertThat(b).extracting(List::size).containsExactly(2, 1, 1, 1, 1);
      assertThat(b.get(0)).containsExactly(f400, g400);
      assertThat(b.get(1)).containsExactly(h800);
      assertThat(b.get(2)).containsExactly(steps);
      assertThat(b.get(3)).containsExactly(big);
      assertThat(Group.buckets(List.of(), 1000)).isEmpty();
    }
  }
}
